# doc: the manual and the reference documents, installed to $(docdir).
dist_doc_DATA += \
	doc/architecture.md \
	doc/benchmarks.md \
	doc/bridge.md \
	doc/format.md \
	doc/policy.md \
	doc/qmp.md \
	doc/security.md
dist_man_MANS += doc/mrengine.1
