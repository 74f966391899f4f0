# doc: the manual and the reference documents, installed to $(docdir).
dist_doc_DATA += \
	doc/policy.md \
	doc/qmp.md
