# policies: the shipped policies, installed to $(pkgdatadir)/policies.
policiesdir = $(pkgdatadir)/policies
dist_policies_DATA = \
	policies/default.lua \
	policies/fast-snapshot.lua \
	policies/compact-archive.lua \
	policies/low-impact.lua \
	policies/libvirt-header.lua \
	policies/per-vm-rules.lua
