package synth

// The words of a generated history: titles, legal bases, comments and
// reasons as a provincial People's Committee would write them.

var titleForms = []string{
	"Dự thảo Quyết định ban hành Quy định về %[1]s",
	"Dự thảo Kế hoạch thực hiện %[1]s năm %[2]d",
	"Đề án %[1]s giai đoạn %[2]d–2030",
	"Dự thảo Nghị quyết của HĐND tỉnh về %[1]s",
	"Hồ sơ đề nghị điều chỉnh %[1]s",
	"Dự thảo Tờ trình về %[1]s",
	"Báo cáo rà soát %[1]s năm %[2]d",
	"Dự thảo Chỉ thị tăng cường %[1]s",
}

// legalBasis by the root of a field code.
var legalBasis = map[string]string{
	"finance":                "Luật Ngân sách nhà nước năm 2015; Nghị định số 163/2016/NĐ-CP",
	"public-investment":      "Luật Đầu tư công năm 2024",
	"investment":             "Luật Đầu tư năm 2020",
	"land":                   "Luật Đất đai năm 2024, Điều 76; Nghị định số 102/2024/NĐ-CP",
	"environment":            "Luật Bảo vệ môi trường năm 2020",
	"water-resources":        "Luật Tài nguyên nước năm 2023",
	"minerals":               "Luật Địa chất và khoáng sản năm 2024",
	"agriculture":            "Luật Trồng trọt năm 2018; Luật Thủy lợi năm 2017",
	"forestry":               "Luật Lâm nghiệp năm 2017",
	"construction":           "Luật Xây dựng năm 2014, sửa đổi, bổ sung năm 2020",
	"urban-planning":         "Luật Quy hoạch đô thị và nông thôn năm 2024",
	"housing":                "Luật Nhà ở năm 2023; Luật Kinh doanh bất động sản năm 2023",
	"transport":              "Luật Đường bộ năm 2024",
	"justice":                "Luật Ban hành văn bản quy phạm pháp luật năm 2025",
	"home-affairs":           "Luật Cán bộ, công chức năm 2025",
	"labour":                 "Bộ luật Lao động năm 2019",
	"administration":         "Nghị định số 63/2010/NĐ-CP về kiểm soát thủ tục hành chính",
	"health":                 "Luật Khám bệnh, chữa bệnh năm 2023",
	"education":              "Luật Giáo dục năm 2019",
	"industry-trade":         "Luật Thương mại năm 2005",
	"energy":                 "Luật Điện lực năm 2024",
	"science-technology":     "Luật Khoa học, công nghệ và đổi mới sáng tạo năm 2025",
	"digital-transformation": "Luật Giao dịch điện tử năm 2023",
	"culture":                "Luật Di sản văn hóa năm 2024",
	"tourism":                "Luật Du lịch năm 2017",
	"sports":                 "Luật Thể dục, thể thao năm 2006, sửa đổi năm 2018",
	"inspection":             "Luật Thanh tra năm 2022",
	"public-security":        "Luật Phòng cháy, chữa cháy và cứu nạn, cứu hộ năm 2024",
	"ethnic-religious":       "Luật Tín ngưỡng, tôn giáo năm 2016",
	"economic-zones":         "Nghị định số 35/2022/NĐ-CP về quản lý khu công nghiệp và khu kinh tế",
}

const commonBasis = "Luật Tổ chức chính quyền địa phương năm 2025; Quy chế làm việc của UBND tỉnh; Công điện 280/CĐ-TTg"

var summaries = []string{
	"Đề nghị các cơ quan nghiên cứu, góp ý đối với dự thảo gửi kèm, tập trung vào các nội dung thuộc phạm vi quản lý của đơn vị.",
	"Xin ý kiến về sự phù hợp của dự thảo với quy hoạch, kế hoạch và quy định hiện hành; đề xuất phương án xử lý các vướng mắc.",
	"Đề nghị góp ý về trình tự, thủ tục, thẩm quyền và nguồn lực thực hiện.",
	"Các cơ quan cho ý kiến bằng văn bản về các nội dung được nêu tại dự thảo, nêu rõ quan điểm đồng ý hay không đồng ý.",
}

var optionTexts = []string{
	"giữ nguyên phạm vi điều chỉnh như dự thảo",
	"thu hẹp phạm vi, thực hiện thí điểm tại một số địa bàn",
	"lùi thời điểm áp dụng sang năm sau",
	"bố trí vốn theo hai giai đoạn",
}

var escalationReasons = []string{
	"Nội dung vượt thẩm quyền quyết định của cấp tỉnh, cần ý kiến của cơ quan quản lý chuyên ngành",
	"Theo quy định phải lấy ý kiến của cơ quan cấp trên trước khi trình",
	"Có vướng mắc về áp dụng pháp luật cần cơ quan cấp trên hướng dẫn",
}

var agreeComments = []string{
	"Thống nhất với dự thảo.",
	"Cơ bản thống nhất, không có ý kiến bổ sung.",
}

var commentsWith = []string{
	"Đề nghị làm rõ nguồn kinh phí thực hiện và trách nhiệm của từng cơ quan.",
	"Đề nghị bổ sung đánh giá tác động đối với người dân và doanh nghiệp.",
	"Đề nghị rà soát lại căn cứ pháp lý cho phù hợp với văn bản mới ban hành.",
	"Thống nhất về chủ trương; đề nghị điều chỉnh lộ trình thực hiện cho khả thi.",
	"Đề nghị chỉnh sửa một số thuật ngữ cho thống nhất với luật chuyên ngành.",
	"Đề nghị quy định rõ thời hạn giải quyết thủ tục hành chính.",
}

var disagreeComments = []string{
	"Không thống nhất: nội dung dự thảo chưa phù hợp với quy hoạch đã được phê duyệt.",
	"Không thống nhất: chỉ tiêu đề xuất vượt khả năng cân đối ngân sách.",
	"Không thống nhất: thẩm quyền ban hành chưa đúng quy định của Luật.",
	"Không thống nhất: chưa đánh giá đầy đủ tác động môi trường của phương án.",
}

var extensionReasons = []string{
	"Nội dung phức tạp, cần thêm thời gian tổ chức họp lấy ý kiến các phòng chuyên môn.",
	"Đơn vị đang tổng hợp số liệu từ cấp cơ sở, chưa đủ căn cứ để trả lời.",
	"Lãnh đạo đơn vị đi công tác dài ngày, đề nghị gia hạn để thủ trưởng xem xét.",
	"Cần phối hợp với cơ quan Trung ương để thống nhất ý kiến.",
}

var decisionReasons = []string{
	"Đồng ý gia hạn để bảo đảm chất lượng ý kiến.",
	"Không đồng ý: thời hạn trình đã được ấn định, đề nghị trả lời đúng hạn.",
	"",
}

var conclusions = []string{
	"Đã tổng hợp, tiếp thu ý kiến của các cơ quan; hoàn thiện dự thảo trình UBND tỉnh.",
	"Đã tiếp thu, giải trình đầy đủ ý kiến góp ý; trình cấp có thẩm quyền xem xét.",
	"Các cơ quan thống nhất với dự thảo; hoàn thiện hồ sơ theo quy định.",
}

var proposals = []string{
	"Giữ phương án đã trình, điều chỉnh các chỉ tiêu theo ý kiến của các cơ quan.",
	"Đề xuất thực hiện theo lộ trình hai giai đoạn, bổ sung đánh giá tác động trước khi trình.",
	"Đề xuất trình UBND tỉnh xem xét, quyết định theo phương án của cơ quan chủ trì.",
}

var withdrawReasons = []string{
	"Nội dung đã được điều chỉnh theo chỉ đạo mới của UBND tỉnh.",
	"Văn bản cấp trên thay đổi, dự thảo không còn phù hợp.",
	"Gộp vào hồ sơ khác đang lấy ý kiến.",
}

// Vietnamese names for synthesized officials.
var (
	surnames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middles  = []string{"Văn", "Thị", "Minh", "Quốc", "Thanh", "Đức", "Hữu", "Ngọc", "Thu", "Hoàng", "Xuân", "Kim", "Anh", "Đình"}
	givens   = []string{"An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hòa", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trung", "Tuấn", "Vân", "Yến"}
)

// provinces other than the demo's Quảng Ninh, for --agencies beyond the
// demo registry: code suffix, kind and name.
var provinces = []struct{ code, kind, name string }{
	{"hn", "thành phố", "Hà Nội"}, {"hcm", "Thành phố", "Hồ Chí Minh"}, {"hp", "thành phố", "Hải Phòng"},
	{"dn", "thành phố", "Đà Nẵng"}, {"ct", "thành phố", "Cần Thơ"}, {"hue", "thành phố", "Huế"},
	{"lc", "tỉnh", "Lai Châu"}, {"db", "tỉnh", "Điện Biên"}, {"sl", "tỉnh", "Sơn La"},
	{"ls", "tỉnh", "Lạng Sơn"}, {"cb", "tỉnh", "Cao Bằng"}, {"tq", "tỉnh", "Tuyên Quang"},
	{"lca", "tỉnh", "Lào Cai"}, {"tn", "tỉnh", "Thái Nguyên"}, {"pt", "tỉnh", "Phú Thọ"},
	{"bn", "tỉnh", "Bắc Ninh"}, {"hy", "tỉnh", "Hưng Yên"}, {"nb", "tỉnh", "Ninh Bình"},
	{"qt", "tỉnh", "Quảng Trị"}, {"qng", "tỉnh", "Quảng Ngãi"}, {"gl", "tỉnh", "Gia Lai"},
	{"kh", "tỉnh", "Khánh Hòa"}, {"ld", "tỉnh", "Lâm Đồng"}, {"dl", "tỉnh", "Đắk Lắk"},
	{"dna", "tỉnh", "Đồng Nai"}, {"tni", "tỉnh", "Tây Ninh"}, {"vl", "tỉnh", "Vĩnh Long"},
	{"dt", "tỉnh", "Đồng Tháp"}, {"cm", "tỉnh", "Cà Mau"}, {"ag", "tỉnh", "An Giang"},
	{"th", "tỉnh", "Thanh Hóa"}, {"na", "tỉnh", "Nghệ An"}, {"ht", "tỉnh", "Hà Tĩnh"},
}

// wards are names of communes and wards for synthesized local agencies:
// code part and name.
var wards = []struct{ code, name string }{
	{"quang-trung", "Quang Trung"}, {"le-loi", "Lê Lợi"}, {"tran-hung-dao", "Trần Hưng Đạo"},
	{"hoa-binh", "Hòa Bình"}, {"tan-thanh", "Tân Thành"}, {"dong-hoa", "Đông Hòa"},
	{"binh-an", "Bình An"}, {"an-phu", "An Phú"}, {"thanh-son", "Thanh Sơn"},
	{"phu-loi", "Phú Lợi"}, {"hong-ha", "Hồng Hà"}, {"tan-an", "Tân An"},
	{"minh-khai", "Minh Khai"}, {"hiep-hoa", "Hiệp Hòa"}, {"long-thanh", "Long Thành"},
	{"vinh-phuc", "Vĩnh Phúc"}, {"nam-son", "Nam Sơn"}, {"dai-dong", "Đại Đồng"},
	{"phuoc-hai", "Phước Hải"}, {"hai-chau", "Hải Châu"},
}
