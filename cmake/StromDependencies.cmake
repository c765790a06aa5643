# Every third-party dependency comes from Debian packages installed by
# scripts/install-deps.sh. Nothing is downloaded at configure or build time.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
# libcrypto: SASL SCRAM and PLAIN credentials (PBKDF2, HMAC, SHA-2), used by the security module.
find_package(OpenSSL REQUIRED)
if(STROM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(STROM_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# Record batch codecs (Kafka's gzip, snappy, lz4 and zstd), used by the model module.
pkg_check_modules(ZLIB_PC REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
