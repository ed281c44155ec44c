/* common/holdout.h: the documents that `semsearch adapt` never trains on, so that what is measured on them
 * afterwards (the hybrid weight's calibration, query/calibrate.c) judges the adapted model on text it has not
 * seen. A pure function of the document's external id: about one document in SEM_HOLDOUT_MOD.
 * Thread-safety: pure, any thread. */
#ifndef SEM_HOLDOUT_H
#define SEM_HOLDOUT_H

#define SEM_HOLDOUT_MOD 5

/* 1 if the document with this external id is held out: FNV-1a 64 of its bytes % SEM_HOLDOUT_MOD == 0. */
int sem_holdout_doc(const char *ext_id);

#endif
