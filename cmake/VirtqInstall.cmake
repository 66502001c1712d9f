# Headers, libraries, CMake package (find_package(virtq) -> virtq::virtq,
# virtq::virtq_static, virtq::mock, virtq::mock_static) and pkg-config files.
include(CMakePackageConfigHelpers)

install(FILES ${VIRTQ_PUBLIC_HEADERS} include/virtq/mock.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/virtq)
install(TARGETS virtq virtq_static virtq_mock virtq_mock_static
        EXPORT virtqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(VIRTQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/virtq)
install(EXPORT virtqTargets NAMESPACE virtq:: DESTINATION ${VIRTQ_CMAKE_DIR})
configure_package_config_file(cmake/virtqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/virtqConfig.cmake INSTALL_DESTINATION ${VIRTQ_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/virtqConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/virtqConfig.cmake
              ${PROJECT_BINARY_DIR}/virtqConfigVersion.cmake
        DESTINATION ${VIRTQ_CMAKE_DIR})

# Relocatable .pc files: the prefix is found relative to the .pc file itself.
file(RELATIVE_PATH VIRTQ_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
foreach(pc virtq virtq-mock)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
