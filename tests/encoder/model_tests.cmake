# tests/encoder/model_tests.cmake: tests of the encoder core (included by tests/encoder/CMakeLists.txt).
#   test_model_load        (unit)    folder loading, identity, broken models refused with clear errors
#   test_forward_parity    (parity)  forward pass vs HF transformers f64 outputs, every expected file, 4 models
#   test_cli_encoder       (integration) semsearch tokenize / embed / fill-mask contract on the fixtures
#   test_model_fuzz        (fuzz)    replays the safetensors / config corpus through the fuzz entry point
#   fuzz_safetensors       libFuzzer binary (clang only, not a ctest): run it to grow the corpus, e.g.
#                          build/tests/encoder/fuzz_safetensors -max_total_time=60 tests/encoder/corpus/safetensors
sem_add_test(test_model_load LABELS unit SOURCES test_model_load.c LIBS sem_encoder PkgConfig::CJSON Threads::Threads
  TIMEOUT 120)
sem_add_test(test_forward_parity LABELS parity SOURCES test_forward_parity.c LIBS sem_encoder PkgConfig::CJSON
  TIMEOUT 120)
sem_add_test(test_cli_encoder LABELS integration SOURCES test_cli_encoder.c LIBS PkgConfig::CJSON TIMEOUT 120)
add_dependencies(test_cli_encoder semsearch)
sem_add_test(test_model_fuzz LABELS fuzz SOURCES test_model_fuzz_replay.c fuzz_safetensors.c
  LIBS sem_encoder ARGS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/safetensors TIMEOUT 120)

if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  # The parsers are compiled in here (not taken from sem_encoder) so that they get coverage instrumentation.
  add_executable(fuzz_safetensors fuzz_safetensors.c ${CMAKE_SOURCE_DIR}/encoder/safetensors.c
    ${CMAKE_SOURCE_DIR}/encoder/config.c)
  sem_target(fuzz_safetensors)
  target_compile_options(fuzz_safetensors PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_safetensors PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_safetensors PRIVATE sem_encoder)
endif()
