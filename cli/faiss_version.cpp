// cli/faiss_version.cpp: FAISS keeps its version in C++ header macros only; this exposes them to C.
#include <faiss/Index.h>

#define SEM_STR2(x) #x
#define SEM_STR(x) SEM_STR2(x)

extern "C" const char *sem_faiss_version(void)
{
    return SEM_STR(FAISS_VERSION_MAJOR) "." SEM_STR(FAISS_VERSION_MINOR) "." SEM_STR(FAISS_VERSION_PATCH);
}
