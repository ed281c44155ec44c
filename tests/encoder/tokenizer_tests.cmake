# tests/encoder/tokenizer_tests.cmake: tests of encoder/tokenizer.c (included by tests/encoder/CMakeLists.txt).
#   test_tokenizer_parity  (parity) ids/types/mask/tokens exactly as HF transformers made them, all four models
#   test_tokenizer_unit    (unit)   edge cases, real bert-base-uncased / bert-base-chinese vocabularies
#   test_tokenizer_fuzz    (fuzz)   replays the saved corpus (and mutations) through the libFuzzer entry point,
#                                   any compiler (tests/fuzz_replay.c)
#   fuzz_tokenizer         libFuzzer binary (clang only, not a ctest): run it to grow the corpus, e.g.
#                          build/tests/encoder/fuzz_tokenizer -max_total_time=60 tests/encoder/corpus/tokenizer
sem_add_test(test_tokenizer_parity LABELS parity SOURCES test_tokenizer_parity.c
  LIBS sem_encoder PkgConfig::CJSON TIMEOUT 120)
sem_add_test(test_tokenizer_unit LABELS unit SOURCES test_tokenizer_unit.c LIBS sem_encoder Threads::Threads
  TIMEOUT 120)
# tokenizer.c is compiled into fuzz_tokenizer (not taken from sem_encoder) so that it gets the fuzzer's coverage
# instrumentation.
sem_add_fuzzer(tokenizer CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/tokenizer LIBS sem_encoder MUTATIONS 20
  MIN_FILES 20 UNDER_TEST ${CMAKE_SOURCE_DIR}/encoder/tokenizer.c TIMEOUT 120)
