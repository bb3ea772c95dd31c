# `cmake --install BUILD [--prefix P]`: libsilkie.so.X.Y.Z with its soname and development
# links, the public headers, silkie.pc, the CMake package (silkie::silkie) and the SDK docs.
# The tools install from firmware-tools/. Components: Runtime (library, tools) and
# Development (headers, the libsilkie.so link, silkie.pc, the CMake package, docs).
include(CMakePackageConfigHelpers)
set(SK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/silkie)

install(TARGETS silkie EXPORT silkieTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Runtime
                NAMELINK_COMPONENT Development)
install(DIRECTORY runtime/include/silkie DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT Development FILES_MATCHING PATTERN "*.h")

install(EXPORT silkieTargets NAMESPACE silkie:: DESTINATION ${SK_CMAKE_DIR}
        COMPONENT Development)
configure_package_config_file(cmake/silkieConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/silkieConfig.cmake
                              INSTALL_DESTINATION ${SK_CMAKE_DIR})
# Same major, same ABI: the rule the soname encodes.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/silkieConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/silkieConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/silkieConfigVersion.cmake
        DESTINATION ${SK_CMAKE_DIR} COMPONENT Development)

# silkie.pc names the prefix given at install time (--prefix may differ from the configured
# CMAKE_INSTALL_PREFIX), so its prefix line is filled in by the install step itself.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(SK_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(SK_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(SK_PC_PREFIX "@SK_PC_PREFIX@")
configure_file(cmake/silkie.pc.in ${PROJECT_BINARY_DIR}/cmake/silkie.pc.in @ONLY)
install(CODE "set(SK_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/silkie.pc.in\"
                 \"${PROJECT_BINARY_DIR}/cmake/silkie.pc\" @ONLY)"
        COMPONENT Development)
install(FILES ${PROJECT_BINARY_DIR}/cmake/silkie.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT Development)

install(FILES docs/SDK.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT Development)
install(FILES examples/ask.c DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        COMPONENT Development)
install(FILES examples/cmake/CMakeLists.txt DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/cmake
        COMPONENT Development)
