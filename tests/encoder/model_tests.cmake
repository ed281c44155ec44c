# tests/encoder/model_tests.cmake: tests of the encoder core (included by tests/encoder/CMakeLists.txt).
#   test_model_load        (unit)    folder loading, identity, broken models refused with clear errors
#   test_forward_parity    (parity)  forward pass vs HF transformers f64 outputs, every expected file, 4 models
#   test_encoder_pool      (unit)    the context pool, borrowed from many threads at once (also under TSan)
#   test_cli_encoder       (integration) semsearch tokenize / embed / fill-mask contract on the fixtures
#   test_safetensors_fuzz  (fuzz)    replays the safetensors / config corpus (and mutations) through the fuzz
#                                    entry point (tests/fuzz_replay.c)
#   fuzz_safetensors       libFuzzer binary (clang only, not a ctest): run it to grow the corpus, e.g.
#                          build/tests/encoder/fuzz_safetensors -max_total_time=60 tests/encoder/corpus/safetensors
sem_add_test(test_model_load LABELS unit SOURCES test_model_load.c LIBS sem_encoder PkgConfig::CJSON Threads::Threads
  TIMEOUT 120)
sem_add_test(test_forward_parity LABELS parity SOURCES test_forward_parity.c LIBS sem_encoder PkgConfig::CJSON
  TIMEOUT 120)
sem_add_test(test_cli_encoder LABELS integration SOURCES test_cli_encoder.c LIBS PkgConfig::CJSON TIMEOUT 120)
add_dependencies(test_cli_encoder semsearch)
# The parsers are compiled into fuzz_safetensors (not taken from sem_encoder) so that they get coverage
# instrumentation.
sem_add_fuzzer(safetensors CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/safetensors LIBS sem_encoder MUTATIONS 50
  UNDER_TEST ${CMAKE_SOURCE_DIR}/encoder/safetensors.c ${CMAKE_SOURCE_DIR}/encoder/config.c
  ${CMAKE_SOURCE_DIR}/common/half.c TIMEOUT 120)
sem_add_test(test_encoder_pool LABELS unit SOURCES test_encoder_pool.c LIBS sem_encoder Threads::Threads TIMEOUT 120)
# Reduced precision and kernels by CPU features (docs/encoder.md, "Precision and kernels"):
#   test_precision       (unit)  int8 vs f32 (cosine >= 0.995) on the fixtures, both int8 kernels, odd shapes
#   test_precision_bf16  (unit)  bf16 vs f32 (cosine >= 0.999); exits 77 on CPUs without AVX512_BF16 / AMX_BF16
#   test_kernels         (integration) semsearch version's kernels, forced OpenBLAS fallback, --precision errors
sem_add_test(test_precision LABELS unit SOURCES test_precision.c LIBS sem_encoder PkgConfig::CJSON TIMEOUT 300)
sem_add_test(test_precision_bf16 LABELS unit SOURCES test_precision.c LIBS sem_encoder PkgConfig::CJSON ARGS bf16
  TIMEOUT 300)
sem_add_test(test_kernels LABELS integration SOURCES test_kernels.c LIBS sem_encoder TIMEOUT 120)
add_dependencies(test_kernels semsearch)
