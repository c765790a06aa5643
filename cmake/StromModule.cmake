# strom_module(NAME SOURCES ... DEPS ... PRIVATE_DEPS ...)
# One folder = one static library target strom_<name> (alias strom::<name>).
# Public headers live in include/strom/<name>/, sources in src/<name>/.
function(strom_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(strom_${name} STATIC ${M_SOURCES})
  add_library(strom::${name} ALIAS strom_${name})
  target_include_directories(strom_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(strom_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
endfunction()

# strom_test(NAME SOURCES ... DEPS ... [INCLUDES ...] [DEFINITIONS ...] [SINGLE_THREADED]):
# one GoogleTest binary, tests registered with ctest; the target strom-tests builds every one.
# SINGLE_THREADED marks a binary that starts no thread (pure logic, or the deterministic
# simulator): the thread sanitizer build leaves it out, since ThreadSanitizer finds nothing where
# one thread runs.
function(strom_test name)
  cmake_parse_arguments(T "SINGLE_THREADED" "" "SOURCES;DEPS;INCLUDES;DEFINITIONS" ${ARGN})
  if(T_SINGLE_THREADED AND STROM_SANITIZE STREQUAL "thread")
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src
                                             ${T_INCLUDES})
  target_compile_definitions(${name} PRIVATE ${T_DEFINITIONS})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT 300)
  set_property(GLOBAL APPEND PROPERTY STROM_TESTS ${name})
endfunction()
