# Toolchain file: cross-compile ostel for macOS on Linux with zig cc (zig ships Apple's libc headers
# and a libSystem.tbd, so no SDK is needed for code that uses only libSystem). Used by
# scripts/macos-build.sh, which fetches zig and writes the wrappers this file points at:
#   -DOSTEL_ZIG_WRAP=DIR        holds cc, ar, ranlib (each `exec zig <tool> -target ARCH-macos.MIN`)
#   -DOSTEL_MACOS_ARCH=aarch64|x86_64
#   -DOSTEL_MACOS_DEPS=DIR      prefix of the third-party static libraries built for that target
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR ${OSTEL_MACOS_ARCH})
set(CMAKE_C_COMPILER ${OSTEL_ZIG_WRAP}/cc)
set(CMAKE_AR ${OSTEL_ZIG_WRAP}/ar CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB ${OSTEL_ZIG_WRAP}/ranlib CACHE FILEPATH "zig ranlib")
# The target and minimum version travel in the wrapper's -target; CMake must not add -arch/-isysroot.
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_DEPLOYMENT_TARGET "" CACHE STRING "" FORCE)
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES OSTEL_ZIG_WRAP OSTEL_MACOS_ARCH OSTEL_MACOS_DEPS)
# Libraries and headers come only from the target's prefix, never from the Linux host.
set(CMAKE_FIND_ROOT_PATH ${OSTEL_MACOS_DEPS})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
