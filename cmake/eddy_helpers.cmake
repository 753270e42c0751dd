# Helpers shared by every folder's CMakeLists.txt.

# Warnings and sanitizer flags live in a private interface target, so they never leak to users.
add_library(eddy_warnings INTERFACE)
target_compile_options(eddy_warnings INTERFACE -Wall -Wextra -Werror)
if(EDDY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(EDDY_NATIVE)
  # GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 reductions.
  add_compile_options(-march=native -Wno-maybe-uninitialized)
endif()
find_program(EDDY_CCACHE ccache)
if(EDDY_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${EDDY_CCACHE})
endif()

# Sources include <eddy/<folder>/x.hpp>; in the build tree that path is a link to the sources.
set(EDDY_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
if(NOT EXISTS ${EDDY_INCLUDE_DIR}/eddy)
  file(MAKE_DIRECTORY ${EDDY_INCLUDE_DIR})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR} ${EDDY_INCLUDE_DIR}/eddy SYMBOLIC)
endif()

# eddy_add_library(<folder> [SOURCES a.cpp ...] [DEPS target ...])
#
# Defines the library eddy_<folder> (alias eddy::<folder>) for one top-level folder: header-only
# when it has no sources. Installs the folder's headers under include/eddy/<folder>.
function(eddy_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  set(target eddy_${name})
  if(arg_SOURCES)
    add_library(${target} ${arg_SOURCES})
    set(scope PUBLIC)
    target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:eddy_warnings>)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME eddy_${name}
                          POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(eddy::${name} ALIAS ${target})
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${EDDY_INCLUDE_DIR}>
                                                $<INSTALL_INTERFACE:include>)
  target_compile_features(${target} ${scope} cxx_std_17)
  target_link_libraries(${target} ${scope} ${arg_DEPS})
  install(TARGETS ${target} EXPORT eddy-targets ARCHIVE DESTINATION lib LIBRARY DESTINATION lib)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/ DESTINATION include/eddy/${name}
          FILES_MATCHING PATTERN "*.hpp")
endfunction()

# eddy_add_test(<name> SOURCES ... [DEPS ...] [TAGS]): one Catch2 executable, registered with CTest.
function(eddy_add_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE eddy_test_main ${arg_DEPS} eddy_warnings)
  # Tests are compiled at -O1 even in Release (the libraries and benchmarks keep -O3): a test
  # translation unit instantiates whole jobs and takes a third less time to build, which keeps
  # CI (two builds of every test on two cores) well under its budget.
  target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O1>)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
