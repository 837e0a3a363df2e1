package suite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// The compression cases send slices of five test files. The suite ships
// real files (a JSON document, a bitmap, Goethe's Faust from Project
// Gutenberg, an HTML page, a PDF); the runner generates stand-ins of the
// same kinds, deterministically, so that nothing needs downloading: ASCII
// JSON and HTML (text messages), and as binary messages a grayscale
// bitmap, German prose in UTF-8 and a PDF-like mix of text objects and
// incompressible streams. They compress about as well as the originals.

type testData struct {
	key    string
	desc   string
	binary bool
	gen    func(r *rand.Rand) []byte
}

var testDataSets = []testData{
	{"json_data1", "Large JSON data file", false, genJSON},
	{"lena512", "Bitmap 512x512 grayscale", true, genBitmap},
	{"gutenberg_faust", "Human readable text, German prose", true, genProse},
	{"html_data1", "Large HTML file", false, genHTML},
	{"ooms", "A larger PDF", true, genPDF},
}

var (
	dataOnce  sync.Once
	dataByKey map[string][]byte
)

func testDataBytes(key string) []byte {
	dataOnce.Do(func() {
		dataByKey = map[string][]byte{}
		for i, d := range testDataSets {
			dataByKey[d.key] = d.gen(rand.New(rand.NewPCG(uint64(i)+1, 0x6879626920)))
		}
	})
	return dataByKey[key]
}

var words = strings.Fields(`der die das und ist nicht ein eine zu mit sich auf dem den des von
wie was ich du er sie wir ihr es so nur noch auch schon wohl doch mehr Geist Welt Natur Herz Leben
Himmel Erde Liebe Zeit Nacht Tag Wissen Kunst Teufel Gott Mensch Seele Augenblick verweile schön
Faust Mephistopheles Gretchen Wagner Schüler Marthe Hexe Geister Engel Herr Studierzimmer Kerker
Straße Garten Dom Brunnen Wald Höhle Walpurgisnacht Prolog Zueignung Vorspiel Theater Tragödie`)

func genProse(r *rand.Rand) []byte {
	var b bytes.Buffer
	for b.Len() < 220<<10 {
		n := 6 + r.IntN(10)
		for i := 0; i < n; i++ {
			w := words[r.IntN(len(words))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if i < n-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString([]string{".\n", ",\n", "!\n", "?\n"}[r.IntN(4)])
		if r.IntN(8) == 0 {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

func genJSON(r *rand.Rand) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := 0; b.Len() < 300<<10; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  {"id": %d, "guid": "%08x-%04x-%04x", "isActive": %v, "balance": "$%d.%02d", "age": %d, "name": "%s %s", "tags": ["%s", "%s", "%s"], "latitude": %.6f, "longitude": %.6f, "friends": [{"id": 0, "name": "%s"}, {"id": 1, "name": "%s"}]}`,
			i, r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.IntN(2) == 0, r.IntN(4000), r.IntN(100), 20+r.IntN(50),
			asciiWord(r), asciiWord(r), asciiWord(r), asciiWord(r), asciiWord(r), r.Float64()*180-90, r.Float64()*360-180, asciiWord(r), asciiWord(r))
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

var ascii = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor
incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris
nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat
nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim`)

func asciiWord(r *rand.Rand) string { return ascii[r.IntN(len(ascii))] }

func genHTML(r *rand.Rand) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><title>Test page</title><link rel=\"stylesheet\" href=\"style.css\"></head>\n<body>\n")
	for i := 0; b.Len() < 200<<10; i++ {
		fmt.Fprintf(&b, "<div class=\"section s%d\" id=\"sec-%d\">\n  <h2>%s %s</h2>\n  <p>", i%7, i, asciiWord(r), asciiWord(r))
		for j := 0; j < 20+r.IntN(40); j++ {
			if r.IntN(12) == 0 {
				fmt.Fprintf(&b, "<a href=\"/%s/%d.html\">%s</a> ", asciiWord(r), r.IntN(1000), asciiWord(r))
			} else {
				b.WriteString(asciiWord(r) + " ")
			}
		}
		b.WriteString("</p>\n  <ul><li>one</li><li>two</li><li>three</li></ul>\n</div>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

func genBitmap(r *rand.Rand) []byte {
	const w, h = 512, 512
	var b bytes.Buffer
	hdr := make([]byte, 54)
	copy(hdr, "BM")
	binary.LittleEndian.PutUint32(hdr[2:], 54+1024+w*h)
	binary.LittleEndian.PutUint32(hdr[10:], 54+1024)
	binary.LittleEndian.PutUint32(hdr[14:], 40)
	binary.LittleEndian.PutUint32(hdr[18:], w)
	binary.LittleEndian.PutUint32(hdr[22:], h)
	binary.LittleEndian.PutUint16(hdr[26:], 1)
	binary.LittleEndian.PutUint16(hdr[28:], 8)
	binary.LittleEndian.PutUint32(hdr[34:], w*h)
	b.Write(hdr)
	for i := 0; i < 256; i++ {
		b.Write([]byte{byte(i), byte(i), byte(i), 0})
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Smooth shapes with a little noise, like a photograph.
			v := 128 + 60*isin(x*3+y) + 40*isin(y*5-x*2) + r.IntN(9) - 4
			b.WriteByte(byte(max(0, min(255, v/64))))
		}
	}
	return b.Bytes()
}

// isin is a cheap periodic wave in [-64, 64].
func isin(t int) int {
	t = ((t % 512) + 512) % 512
	if t < 256 {
		return t/2 - 64
	}
	return 64 - (t-256)/2
}

func genPDF(r *rand.Rand) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for i := 1; b.Len() < 500<<10; i++ {
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /MediaBox [0 0 612 792] /Contents %d 0 R >>\nendobj\n", i, i+1)
		n := 500 + r.IntN(3000)
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", i+1, n)
		for j := 0; j < n; j++ {
			b.WriteByte(byte(r.Uint32()))
		}
		b.WriteString("\nendstream\nendobj\n")
		for j := 0; j < 5+r.IntN(20); j++ {
			fmt.Fprintf(&b, "BT /F1 12 Tf %d %d Td (%s %s %s) Tj ET\n", r.IntN(600), r.IntN(800), asciiWord(r), asciiWord(r), asciiWord(r))
		}
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}
