package cli

import (
	"fmt"
	"os"
	"strings"
)

// Messages the CLI writes itself can be shown in Vietnamese (--lang vi or
// TACIT_LANG=vi). Texts that come from the server (error sentences, audit
// details) stay as the server wrote them; codes, ids and dates are the same
// in both languages so scripts are unaffected.
var vi = map[string]string{
	"Error":                   "Lỗi",
	"Consultation:":           "Hồ sơ lấy ý kiến:",
	"Title:":                  "Tiêu đề:",
	"State:":                  "Trạng thái:",
	"Lead:":                   "Cơ quan chủ trì:",
	"Fields:":                 "Lĩnh vực:",
	"Legal basis:":            "Căn cứ pháp lý:",
	"Summary:":                "Tóm tắt:",
	"Opened:":                 "Mở lúc:",
	"Deadline:":               "Thời hạn:",
	"Escalation reason:":      "Lý do lấy ý kiến cơ quan cấp trên:",
	"Option %d:":              "Phương án %d:",
	"Withdrawn:":              "Đã rút:",
	"Concluded:":              "Kết thúc lúc:",
	"Conclusion:":             "Kết luận:",
	"Lead's proposal:":        "Đề xuất của cơ quan chủ trì:",
	"Chosen option:":          "Phương án được chọn:",
	"by":                      "bởi",
	"AGENCY":                  "CƠ QUAN",
	"STATE":                   "TRẠNG THÁI",
	"DEADLINE":                "THỜI HẠN",
	"POSITION":                "Ý KIẾN",
	"SIGNED / RESPONSIBLE":    "NGƯỜI KÝ / NGƯỜI CHỊU TRÁCH NHIỆM",
	"AT":                      "THỜI ĐIỂM",
	"ID":                      "SỐ",
	"LEAD":                    "CHỦ TRÌ",
	"TITLE":                   "TIÊU ĐỀ",
	"PENDING":                 "CHỜ TRẢ LỜI",
	"REPLIED":                 "ĐÃ TRẢ LỜI",
	"DEEMED":                  "COI NHƯ ĐỒNG Ý",
	"open":                    "đang lấy ý kiến",
	"concluded":               "đã kết thúc",
	"withdrawn":               "đã rút",
	"pending":                 "chờ trả lời",
	"replied":                 "đã trả lời",
	"deemed-approved":         "coi như đồng ý",
	"agree":                   "đồng ý",
	"agree-with-comments":     "đồng ý, có ý kiến",
	"disagree":                "không đồng ý",
	"agree (deemed: silence)": "đồng ý (quá hạn không trả lời)",
	"head":                    "thủ trưởng",
	"deputy":                  "phó thủ trưởng",
	"No consultations.":       "Không có hồ sơ nào.",
	"working days":            "ngày làm việc",
	"explicit instant":        "thời điểm ấn định",
	"after opening":           "sau khi mở",
	"server default":          "mặc định của máy chủ",
	"Reply recorded on consultation %s (revision %d); it can be revised until %s.":             "Đã ghi nhận ý kiến cho hồ sơ %s (lần %d); có thể sửa đến %s.",
	"Opened consultation %s %q; %d addressee(s), deadline %s.":                                 "Đã mở hồ sơ %s %q; %d cơ quan được lấy ý kiến, thời hạn %s.",
	"Extension requested on consultation %s; the lead decides (tacit extension grant|refuse).": "Đã đề xuất gia hạn cho hồ sơ %s; cơ quan chủ trì quyết định (tacit extension grant|refuse).",
	"Extension for %s refused; its deadline stays.":                                            "Không chấp thuận gia hạn cho %s; thời hạn giữ nguyên.",
	"Extension for %s granted; its deadline is now %s.":                                        "Đã chấp thuận gia hạn cho %s; thời hạn mới là %s.",
	"Consultation %s withdrawn.":                                                               "Đã rút hồ sơ %s.",
	"Consultation %s concluded.":                                                               "Đã kết thúc hồ sơ %s.",
}

// lang is "en" or "vi"; anything else is refused when parsed.
func parseLangFlag(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "en":
		return "en", nil
	case "vi":
		return "vi", nil
	}
	return "", usageError{fmt.Sprintf("--lang %q: use vi or en", s)}
}

// t translates one of the CLI's own texts.
func (e *env) t(en string) string {
	if e.lang == "vi" {
		if v, ok := vi[en]; ok {
			return v
		}
	}
	return en
}

// tf translates a format and applies it.
func (e *env) tf(format string, args ...any) string { return fmt.Sprintf(e.t(format), args...) }

// langFromArgs finds --lang in raw arguments (for messages printed after
// the command ran, such as errors), else TACIT_LANG.
func langFromArgs(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--lang="); ok {
			return v
		}
		if a == "--lang" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return os.Getenv("TACIT_LANG")
}
