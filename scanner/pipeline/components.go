package pipeline

// eachComponent finds the 8-connected pieces of a w×h mask and hands each
// one's pixel indices (y*w+x) to fn. The slice is reused: fn must not keep
// it.
func eachComponent(mask []bool, w, h int, fn func(pixels []int)) {
	seen := make([]bool, len(mask))
	var comp []int
	for start, on := range mask {
		if !on || seen[start] {
			continue
		}
		seen[start] = true
		comp = append(comp[:0], start)
		for k := 0; k < len(comp); k++ {
			i := comp[k]
			x, y := i%w, i/w
			if x > 0 && y > 0 && x < w-1 && y < h-1 {
				// Inside: the eight neighbours without bounds to check.
				for _, j := range [8]int{i - w - 1, i - w, i - w + 1, i - 1, i + 1, i + w - 1, i + w, i + w + 1} {
					if mask[j] && !seen[j] {
						seen[j] = true
						comp = append(comp, j)
					}
				}
				continue
			}
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					if j := ny*w + nx; mask[j] && !seen[j] {
						seen[j] = true
						comp = append(comp, j)
					}
				}
			}
		}
		fn(comp)
	}
}
