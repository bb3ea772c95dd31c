# silkie-bench-camera: camera input path latency (decode, upload, GPU preprocess).
if(TARGET silkie_ops AND TARGET silkie_camera)
  add_executable(silkie-bench-camera ${CMAKE_CURRENT_LIST_DIR}/silkie_bench_camera.c)
  target_link_libraries(silkie-bench-camera PRIVATE silkie_camera silkie_ops silkie_cli_opts
                        PkgConfig::TURBOJPEG)
endif()
