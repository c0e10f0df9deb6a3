package main

import (
	"testing"
	"time"
)

func TestParseTransportSumsHostsAndIsNilWhenAbsent(t *testing.T) {
	doc := `{"check": false, "transport": {
	  "db01": {"connections": 1, "sessions": 12, "sudo": 3, "sftp_requests": 20, "commands": 12},
	  "db02": {"connections": 1, "sessions": 10, "sudo": 3, "sftp_requests": 18, "commands": 10}}}`
	got := parseTransport([]byte(doc))
	want := map[string]float64{"connections": 2, "sessions": 22, "sudo": 6, "sftp_requests": 38, "commands": 22}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	for _, in := range []string{`{"check": false, "plays": []}`, ``, `not json`} {
		if got := parseTransport([]byte(in)); got != nil {
			t.Errorf("%q: got %v, want nil (printed as -)", in, got)
		}
	}
}

func TestParseRTTsSortsAndRefusesBadDurations(t *testing.T) {
	got, err := parseRTTs("50ms, 0,20ms,50ms")
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"-5ms", "fast", "2m", ""} {
		if _, err := parseRTTs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseSizesAllowsOneTo200(t *testing.T) {
	got, err := parseSizes("200,10,100,30,10")
	if err != nil || len(got) != 4 || got[0] != 10 || got[3] != 200 {
		t.Errorf("got %v, %v; want [10 30 100 200]", got, err)
	}
	for _, bad := range []string{"0", "201", "x"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
