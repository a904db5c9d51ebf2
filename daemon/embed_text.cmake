# Writes INPUT (a text file) into OUTPUT as `extern const char SYMBOL[]` in omniroute::daemon.
# Used for the demo configuration and the wallboard page, served from the binary.
file(READ ${INPUT} content)
get_filename_component(input_name ${INPUT} NAME)
file(WRITE ${OUTPUT}
  "// Generated from ${input_name} by daemon/embed_text.cmake. Do not edit.\n"
  "namespace omniroute::daemon {\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] = R\"omniroute_embed(${content})omniroute_embed\";\n"
  "}  // namespace omniroute::daemon\n")
