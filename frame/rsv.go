package frame

// String returns the names of the bits set, such as "RSV1" or "RSV1|RSV3",
// and "0" when none is.
func (r RSV) String() string {
	s := ""
	for _, b := range [...]struct {
		bit  RSV
		name string
	}{{RSV1, "RSV1"}, {RSV2, "RSV2"}, {RSV3, "RSV3"}} {
		if r&b.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += b.name
		}
	}
	if s == "" {
		return "0"
	}
	return s
}
