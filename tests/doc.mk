# tests: the documentation. manpage.sh keeps doc/mrengine.1 in step with every
# command's --help; format_reader.py reads images with a reader written from
# doc/format.md alone and compares it with inspect, verify and extract.
TESTS += tests/doc/manpage.sh tests/doc/format_reader.py
EXTRA_DIST += tests/doc/manpage.sh tests/doc/format_reader.py
