#!/bin/sh
# SPDX-License-Identifier: MIT
# Module boundary of the QMP front end: <cJSON.h> is included only under
# src/qmp/, no file there uses cJSON's case-insensitive getters or its
# global error pointer, and only src/qmp/ and the daemon's CLI entry see
# the QMP headers.
. "$srcdir/tests/lib.sh"
plan 4
cd "$srcdir" || exit 1
outside=$(grep -rlE '#include[[:space:]]*[<"](cjson/)?cJSON\.h[>"]' src | grep -v '^src/qmp/' || true)
if [ -z "$outside" ]; then ok "cJSON.h is included only under src/qmp/"
else not_ok "cJSON.h is included only under src/qmp/"; diag "$outside"; fi
bad=$(grep -nE 'cJSON_GetObjectItem[[:space:]]*\(|cJSON_HasObjectItem[[:space:]]*\(' src/qmp/*.c src/qmp/*.h || true)
if [ -z "$bad" ]; then ok "only case-sensitive cJSON getters"
else not_ok "only case-sensitive cJSON getters"; diag "$bad"; fi
bad=$(grep -nE 'cJSON_GetErrorPtr|cJSON_Parse[[:space:]]*\(|cJSON_ParseWithOpts[[:space:]]*\(' src/qmp/*.c || true)
if [ -z "$bad" ]; then ok "parsing only with cJSON_ParseWithLengthOpts"
else not_ok "parsing only with cJSON_ParseWithLengthOpts"; diag "$bad"; fi
users=$(grep -rlE '#include "qmp/' src | grep -v '^src/qmp/' | grep -v '^src/cli/cmd_daemon.c$' || true)
if [ -z "$users" ]; then ok "only the daemon entry uses the QMP module"
else not_ok "only the daemon entry uses the QMP module"; diag "$users"; fi
done_testing
