#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates ./configure and the Makefile templates (they are not committed).
set -e
cd "$(dirname "$0")"
autoreconf -fi
