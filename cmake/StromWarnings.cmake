# Compiler flags shared by every Strom target.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
                    -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 misreports Asio coroutine frame deallocation as mismatched.
  add_compile_options(-Wno-mismatched-new-delete)
endif()
if(STROM_WERROR)
  add_compile_options(-Werror)
endif()
if(STROM_SANITIZE)
  add_compile_options(-fsanitize=${STROM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${STROM_SANITIZE})
endif()
if(STROM_SANITIZE MATCHES "thread")
  # ThreadSanitizer does not model standalone fences (GCC's -Wtsan). Asio fences the memory a
  # handler touches; its handler queues are guarded by mutexes, which TSan sees, so the build
  # under TSan leaves the fences out and relies on those.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
endif()
