#!/bin/sh
# Runs the tract command line. With PYTORCH_LIBRARY_PATH set (GPU image) the CPU build of libtorch is left off
# the classpath so that DJL uses the CUDA build. exec: the JVM receives SIGTERM directly (from tini).
set -e
CP=/app/tract.jar
for jar in /app/lib/*.jar; do
  case "$jar" in
    *pytorch-native-cpu*) [ -n "$PYTORCH_LIBRARY_PATH" ] && continue ;;
  esac
  CP="$CP:$jar"
done
exec java $TRACT_JAVA_OPTS -cp "$CP" dev.tract.cli.TractCli "$@"
