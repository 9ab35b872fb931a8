package cli

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// Vietnamese cells align by what the terminal shows: with text in NFC every
// letter, diacritics included, is one rune of width one, so the second
// column starts at the same rune offset on every line.
func TestTablesAlignVietnameseText(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "CƠ QUAN", "TRẠNG THÁI")
	tb.row("Sở Nông nghiệp và Môi trường", "coi như đồng ý")
	tb.row("Bộ Tư pháp", "đã trả lời")
	tb.row("Ủy ban nhân dân phường Hạ Long", "chờ trả lời")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	var offsets []int
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		i := strings.Index(line, "  ")
		for i < len(line) && line[i] == ' ' {
			i++
		}
		offsets = append(offsets, utf8.RuneCountInString(line[:i]))
	}
	for _, o := range offsets[1:] {
		if o != offsets[0] {
			t.Fatalf("second column starts at rune offsets %v:\n%s", offsets, buf.String())
		}
	}
}

// --lang vi shows the CLI's own labels in Vietnamese; en (default) keeps
// them in English; codes and ids are the same in both.
func TestLanguageOfLabels(t *testing.T) {
	e := &env{lang: "vi"}
	for en, want := range map[string]string{"Deadline:": "Thời hạn:", "deemed-approved": "coi như đồng ý", "DEADLINE": "THỜI HẠN"} {
		if got := e.t(en); got != want {
			t.Errorf("vi %q = %q, want %q", en, got, want)
		}
	}
	if got := e.tf("Consultation %s concluded.", "7"); got != "Đã kết thúc hồ sơ 7." {
		t.Errorf("vi format = %q", got)
	}
	if got := (&env{lang: "en"}).t("Deadline:"); got != "Deadline:" {
		t.Errorf("en = %q", got)
	}
	if got := e.t("a text with no translation"); got != "a text with no translation" {
		t.Errorf("untranslated text changed: %q", got)
	}
	if _, err := parseLangFlag("fr"); err == nil {
		t.Error("--lang fr accepted")
	}
	var stderr bytes.Buffer
	printError(&stderr, usageError{"x"}, "vi")
	if !strings.HasPrefix(stderr.String(), "Lỗi: ") {
		t.Errorf("error prefix in vi: %q", stderr.String())
	}
}
