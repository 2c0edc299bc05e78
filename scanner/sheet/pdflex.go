package sheet

import (
	"errors"
	"strconv"
)

// The tokens of a content stream or a CMap: operands (numbers, names,
// strings, arrays; dictionaries are read and dropped) and operators.
// Inline images are skipped whole, their bytes unread.

type tokKind int

const (
	tokEOF tokKind = iota
	tokNumber
	tokName
	tokString
	tokArray
	tokDict
	tokOperator
)

type operand struct {
	kind tokKind
	num  float64
	name string
	str  []byte
	arr  []operand
	op   string
}

type lexer struct {
	data  []byte
	pos   int
	depth int
}

var errUnbalanced = errors.New("sheet: unbalanced array or dictionary in page content")

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// next reads one token; at the end, tokEOF.
func (l *lexer) next() (operand, error) {
	for {
		tok, ok, err := l.token()
		if err != nil || ok {
			return tok, err
		}
	}
}

// token reads one token, or false for what is passed over (a stray
// byte, an inline image).
func (l *lexer) token() (operand, bool, error) {
	l.skipSpace()
	if l.pos >= len(l.data) {
		return operand{kind: tokEOF}, true, nil
	}
	c := l.data[l.pos]
	switch {
	case c == '(':
		return operand{kind: tokString, str: l.literal()}, true, nil
	case c == '<' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '<':
		l.pos += 2
		if err := l.skipDict(); err != nil {
			return operand{}, false, err
		}
		return operand{kind: tokDict}, true, nil
	case c == '<':
		return operand{kind: tokString, str: l.hex()}, true, nil
	case c == '/':
		l.pos++
		return operand{kind: tokName, name: l.regular()}, true, nil
	case c == '[':
		l.pos++
		a, err := l.array()
		return a, err == nil, err
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		l.pos++ // stray: PostScript procedures in CMaps, broken files
		return operand{}, false, nil
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		w := l.regular()
		if v, err := strconv.ParseFloat(w, 64); err == nil {
			return operand{kind: tokNumber, num: v}, true, nil
		}
		return operand{kind: tokOperator, op: w}, true, nil
	}
	w := l.regular()
	if w == "" { // a byte no token starts with
		l.pos++
		return operand{}, false, nil
	}
	if w == "ID" {
		l.skipInlineImage()
		return operand{}, false, nil
	}
	return operand{kind: tokOperator, op: w}, true, nil
}

// regular reads a run of regular characters.
func (l *lexer) regular() string {
	start := l.pos
	for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
		l.pos++
	}
	return string(l.data[start:l.pos])
}

func (l *lexer) array() (operand, error) {
	l.depth++
	defer func() { l.depth-- }()
	if l.depth > maxArrayDepth {
		return operand{}, errUnbalanced
	}
	a := operand{kind: tokArray}
	for {
		l.skipSpace()
		if l.pos >= len(l.data) {
			return operand{}, errUnbalanced
		}
		if l.data[l.pos] == ']' {
			l.pos++
			return a, nil
		}
		e, err := l.next()
		if err != nil {
			return operand{}, err
		}
		if e.kind == tokEOF {
			return operand{}, errUnbalanced
		}
		if len(a.arr) >= maxOperands {
			return operand{}, errTooMuch
		}
		a.arr = append(a.arr, e)
	}
}

// skipDict reads past a dictionary's closing >>, nested ones included.
func (l *lexer) skipDict() error {
	depth := 1
	for l.pos < len(l.data) {
		switch c := l.data[l.pos]; {
		case c == '(':
			l.literal()
		case c == '<' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '<':
			l.pos += 2
			if depth++; depth > maxArrayDepth {
				return errUnbalanced
			}
		case c == '>' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '>':
			l.pos += 2
			if depth--; depth == 0 {
				return nil
			}
		case c == '<':
			l.hex()
		default:
			l.pos++
		}
	}
	return errUnbalanced
}

// literal reads a (string), its escapes and balanced parentheses.
func (l *lexer) literal() []byte {
	l.pos++ // (
	var out []byte
	depth := 1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return out
			}
		case '\\':
			if l.pos >= len(l.data) {
				return out
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '7'; k++ {
						v = v*8 + int(l.data[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// hex reads a <hex string>; an odd last digit is followed by 0.
func (l *lexer) hex() []byte {
	l.pos++ // <
	var out []byte
	var hi byte
	half := false
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		var v byte
		switch {
		case c == '>':
			if half {
				out = append(out, hi<<4)
			}
			return out
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue // white space, or a byte that has no place here
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return out
}

// skipInlineImage reads past an inline image's data: after ID and one
// white-space byte, up to EI standing alone.
func (l *lexer) skipInlineImage() {
	l.pos++
	for l.pos+2 <= len(l.data) {
		if l.data[l.pos] == 'E' && l.data[l.pos+1] == 'I' && isSpace(l.data[l.pos-1]) &&
			(l.pos+2 == len(l.data) || isSpace(l.data[l.pos+2]) || isDelim(l.data[l.pos+2])) {
			l.pos += 2
			return
		}
		l.pos++
	}
	l.pos = len(l.data)
}
