/* SPDX-License-Identifier: MIT */
/*
 * vmopts.h: the options that describe a VM, shared by every command that
 * builds one (save, restore, the daemon, policy-check): -object, --name,
 * --label, --running; and what a save writes into the stream: --uuid,
 * --machine, --device-state.
 */
#ifndef MRE_CLI_VMOPTS_H
#define MRE_CLI_VMOPTS_H

#include <getopt.h>

#include "engine/engine.h"

enum {
	MRE_OPT_OBJECT = 0x1000,
	MRE_OPT_NAME,
	MRE_OPT_UUID,
	MRE_OPT_MACHINE,
	MRE_OPT_LABEL,
	MRE_OPT_DEVICE_STATE,
	MRE_OPT_RUNNING,
};

/* getopt_long entries for the options above (append to a command's table). */
#define MRE_VM_LONGOPTS                                                        \
	{ "object", required_argument, NULL, MRE_OPT_OBJECT },                 \
	{ "name", required_argument, NULL, MRE_OPT_NAME },                     \
	{ "uuid", required_argument, NULL, MRE_OPT_UUID },                     \
	{ "machine", required_argument, NULL, MRE_OPT_MACHINE },               \
	{ "label", required_argument, NULL, MRE_OPT_LABEL },                   \
	{ "running", no_argument, NULL, MRE_OPT_RUNNING },                     \
	{ "device-state", required_argument, NULL, MRE_OPT_DEVICE_STATE }

#define MRE_VM_HELP                                                                        \
	"  -object memory-backend-memfd,id=ID,size=N\n"                                     \
	"  -object memory-backend-file,id=ID,size=N,mem-path=PATH[,share=on]\n"             \
	"                       a RAM block (repeat for several); sizes take K, M, G\n"   \
	"  --name NAME          VM name (policies see it)\n"                               \
	"  --label KEY=VALUE    a label for policies (repeatable)\n"                       \
	"  --running            the VM is running (policies see vm.running; a libvirt\n"   \
	"                       header records it); default: paused\n"

/* The options above that only a save uses: what it writes into the stream. */
#define MRE_VM_HELP_STREAM                                                                 \
	"  --uuid UUID          VM UUID\n"                                                 \
	"  --machine TYPE       machine type in the stream (default " MRE_VM_DEFAULT_MACHINE ")\n" \
	"  --device-state FILE  device sections to write verbatim after the RAM\n"

/* Does option @opt only make sense for a save? */
#define MRE_VM_OPT_STREAM(opt) \
	((opt) == MRE_OPT_UUID || (opt) == MRE_OPT_MACHINE || (opt) == MRE_OPT_DEVICE_STATE)

/* Handle one of the options above: 1 if handled, 0 if @opt is not one of
 * them, negative on error (printed). */
int mre_cli_vm_option(struct mre_engine *e, int opt, const char *arg);

#endif
