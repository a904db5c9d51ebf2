# Writes INPUT (a text file) into OUTPUT as `extern const char kDemoConfigText[]`.
file(READ ${INPUT} content)
file(WRITE ${OUTPUT}
  "// Generated from daemon/demo_config.textproto by daemon/embed_text.cmake. Do not edit.\n"
  "namespace omniroute::daemon {\n"
  "extern const char kDemoConfigText[];\n"
  "const char kDemoConfigText[] = R\"omniroute_demo(${content})omniroute_demo\";\n"
  "}  // namespace omniroute::daemon\n")
