// SPDX-License-Identifier: MIT

// Command goqmp drives a QMP server with DigitalOcean's go-qemu client
// (Debian's golang-github-digitalocean-go-qemu-dev), the way Go management
// tools talk to QEMU, and records what it saw as JSON: the greeting, the
// reply or error of every scripted command, the MIGRATION events and the
// query-migrate replies of a save to a file. tests/interop/go_qmp.py runs
// it against QEMU 10 and against mrengine and compares the two records.
//
// Usage: goqmp -socket PATH -dir DIR -out FILE
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

type step struct {
	Name   string          `json:"name"`
	Return json.RawMessage `json:"return,omitempty"`
	Error  string          `json:"error,omitempty"`
}

type record struct {
	Version      qmp.Version                `json:"version"`
	Capabilities []string                   `json:"capabilities"`
	Steps        []step                     `json:"steps"`
	Polled       []string                   `json:"polled"`
	Shapes       map[string]json.RawMessage `json:"shapes"`
	Events       []string                   `json:"events"`
	Passes       []json.RawMessage          `json:"passes"`
}

type session struct {
	mon *qmp.SocketMonitor
	rec *record
}

// run executes one command and records its "return" member or its error.
func (s *session) run(name, cmd string) json.RawMessage {
	out, err := s.mon.Run([]byte(cmd))
	st := step{Name: name}
	var ret json.RawMessage
	if err != nil {
		st.Error = err.Error()
	} else {
		var r struct {
			Return json.RawMessage `json:"return"`
		}
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			st.Error = "unparsable reply: " + jerr.Error()
		} else {
			st.Return = r.Return
			ret = r.Return
		}
	}
	s.rec.Steps = append(s.rec.Steps, st)
	return ret
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goqmp: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	sock := flag.String("socket", "", "QMP UNIX socket")
	dir := flag.String("dir", "", "scratch directory for the migration file")
	out := flag.String("out", "", "where to write the record")
	flag.Parse()
	if *sock == "" || *dir == "" || *out == "" {
		fail("usage: goqmp -socket PATH -dir DIR -out FILE")
	}

	mon, err := qmp.NewSocketMonitor("unix", *sock, 10*time.Second)
	if err != nil {
		fail("connect: %v", err)
	}
	// Connect reads the greeting and negotiates (qmp_capabilities).
	if err := mon.Connect(); err != nil {
		fail("negotiate: %v", err)
	}
	defer mon.Disconnect()

	rec := &record{Shapes: map[string]json.RawMessage{}}
	rec.Version = *mon.Version
	rec.Capabilities = mon.Capabilities
	if rec.Capabilities == nil {
		rec.Capabilities = []string{}
	}
	s := &session{mon: mon, rec: rec}

	// go-qemu delivers events through an unbuffered channel: drain it
	// all the time, or replies would queue behind undelivered events.
	events, err := mon.Events(context.Background())
	if err != nil {
		fail("events: %v", err)
	}
	var mu sync.Mutex
	go func() {
		for e := range events {
			mu.Lock()
			switch e.Event {
			case "MIGRATION":
				if st, ok := e.Data["status"].(string); ok {
					rec.Events = append(rec.Events, st)
				}
			case "MIGRATION_PASS":
				b, _ := json.Marshal(e.Data)
				rec.Passes = append(rec.Passes, b)
			}
			mu.Unlock()
		}
	}()

	img := filepath.Join(*dir, "go-qmp.img")
	s.run("query-version", `{"execute": "query-version"}`)
	s.run("query-status", `{"execute": "query-status"}`)
	s.run("query-migrate-before", `{"execute": "query-migrate"}`)
	s.run("query-migrate-capabilities", `{"execute": "query-migrate-capabilities"}`)
	s.run("query-migrate-parameters", `{"execute": "query-migrate-parameters"}`)
	s.run("add-fd-without-fd", `{"execute": "add-fd", "arguments": {"fdset-id": 1}}`)
	s.run("add-fd-bad-type", `{"execute": "add-fd", "arguments": {"fdset-id": "one"}}`)
	s.run("remove-fd-missing", `{"execute": "remove-fd", "arguments": {"fdset-id": 9}}`)
	s.run("remove-fd-missing-fd", `{"execute": "remove-fd", "arguments": {"fdset-id": 9, "fd": 99}}`)
	s.run("closefd-missing", `{"execute": "closefd", "arguments": {"fdname": "nope"}}`)
	s.run("query-fdsets", `{"execute": "query-fdsets"}`)
	s.run("caps-xbzrle", `{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
		{"capability": "mapped-ram", "state": true}, {"capability": "xbzrle", "state": true}]}}`)
	s.run("caps-bad-name", `{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
		{"capability": "no-such-cap", "state": true}]}}`)
	s.run("params-bad-channels", `{"execute": "migrate-set-parameters", "arguments": {"multifd-channels": 0}}`)
	s.run("params-bad-type", `{"execute": "migrate-set-parameters", "arguments": {"direct-io": "yes"}}`)
	s.run("params-unknown", `{"execute": "migrate-set-parameters", "arguments": {"no-such-param": 1}}`)
	s.run("caps", `{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
		{"capability": "events", "state": true}, {"capability": "mapped-ram", "state": true},
		{"capability": "multifd", "state": true}]}}`)
	s.run("params", `{"execute": "migrate-set-parameters", "arguments": {"multifd-channels": 2, "max-bandwidth": 1099511627776}}`)
	s.run("migrate-no-uri", `{"execute": "migrate", "arguments": {}}`)
	s.run("migrate-tcp", `{"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:1"}}`)
	s.run("migrate-bad-offset", fmt.Sprintf(`{"execute": "migrate", "arguments": {"uri": "file:%s,offset=0x20M"}}`, img))
	s.run("migrate-missing-fdset", `{"execute": "migrate", "arguments": {"uri": "file:/dev/fdset/abc"}}`)
	s.run("migrate", fmt.Sprintf(`{"execute": "migrate", "arguments": {"uri": "file:%s"}}`, img))

	// poll until the end, keeping the first reply seen in each status
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := mon.Run([]byte(`{"execute": "query-migrate"}`))
		if err != nil {
			fail("query-migrate: %v", err)
		}
		var r struct {
			Return json.RawMessage `json:"return"`
		}
		var info struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			fail("query-migrate reply: %v", err)
		}
		json.Unmarshal(r.Return, &info)
		if _, seen := rec.Shapes[info.Status]; !seen {
			rec.Shapes[info.Status] = r.Return
			rec.Polled = append(rec.Polled, info.Status)
		}
		if info.Status == "completed" || info.Status == "failed" || info.Status == "cancelled" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// the last events may still be on their way
	for i := 0; i < 200; i++ {
		mu.Lock()
		n := len(rec.Events)
		last := ""
		if n > 0 {
			last = rec.Events[n-1]
		}
		mu.Unlock()
		if last == "completed" || last == "failed" || last == "cancelled" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.run("query-migrate-after", `{"execute": "query-migrate"}`)
	s.run("migrate-again-refused-or-done", `{"execute": "migrate_cancel"}`)

	mu.Lock()
	b, err := json.MarshalIndent(rec, "", "  ")
	mu.Unlock()
	if err != nil {
		fail("marshal: %v", err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fail("write: %v", err)
	}
}
