# SPDX-License-Identifier: Apache-2.0
# The build recipe STOQ's native packages share (cmake-js, Node-API 8): every
# native/*.cc into ${PROJECT_NAME}.node, node-addon-api's C++ wrapper with exceptions,
# and system libraries through pkg-config, failing with the Debian package to install
# (this runs at npm install when no prebuilt binary fits).
#
#   stoq_node_addon(PACKAGE @stoq/name
#                   [PKG_CONFIG module...]          # e.g. libxdp libbpf
#                   [INSTALL_HINT "libbpf-dev ..."]) # what apt-get install would fix it
include_guard(GLOBAL)

function(stoq_node_addon)
  cmake_parse_arguments(ADDON "" "PACKAGE;INSTALL_HINT" "PKG_CONFIG" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/native/*.cc")
  add_library(${PROJECT_NAME} SHARED ${sources} ${CMAKE_JS_SRC})
  set_target_properties(${PROJECT_NAME} PROPERTIES
    PREFIX "" SUFFIX ".node" CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)

  execute_process(COMMAND node -p "require('node-addon-api').include"
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE addon_api_dir)
  string(REGEX REPLACE "[\r\n\"]" "" addon_api_dir "${addon_api_dir}")

  target_include_directories(${PROJECT_NAME} PRIVATE ${CMAKE_JS_INC} ${addon_api_dir})
  target_compile_definitions(${PROJECT_NAME} PRIVATE NAPI_VERSION=8 NODE_ADDON_API_DISABLE_DEPRECATED NAPI_CPP_EXCEPTIONS)
  # A worker thread that ends (process.exit, terminate()) while an addon call or a
  # callback runs makes every N-API call fail; node-addon-api then rethrows out of the
  # callback into std::terminate, aborting the whole process. With this it drops the
  # error only when nothing is pending, i.e. when the environment is shutting down.
  target_compile_definitions(${PROJECT_NAME} PRIVATE NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS)
  target_compile_options(${PROJECT_NAME} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -O2)
  target_link_libraries(${PROJECT_NAME} PRIVATE ${CMAKE_JS_LIB})

  if(ADDON_PKG_CONFIG)
    find_package(PkgConfig)
    if(NOT PKG_CONFIG_FOUND)
      message(FATAL_ERROR "${ADDON_PACKAGE}: pkg-config not found; install pkg-config and ${ADDON_INSTALL_HINT}")
    endif()
    pkg_check_modules(STOQ_ADDON_DEPS IMPORTED_TARGET ${ADDON_PKG_CONFIG})
    if(NOT STOQ_ADDON_DEPS_FOUND)
      message(FATAL_ERROR "${ADDON_PACKAGE}: ${ADDON_PKG_CONFIG} not found by pkg-config; install ${ADDON_INSTALL_HINT}")
    endif()
    target_link_libraries(${PROJECT_NAME} PRIVATE PkgConfig::STOQ_ADDON_DEPS)
  endif()
endfunction()
