# doc: the manual and the reference documents, installed to $(docdir).
dist_doc_DATA += \
	doc/bridge.md \
	doc/policy.md \
	doc/qmp.md
