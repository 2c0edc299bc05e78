package sheet

import "testing"

func TestQuarterTurnOfATransform(t *testing.T) {
	for _, tc := range []struct {
		tf   Transform
		want int
	}{
		{Transform{a: 4, e: -4}, 0},
		{Transform{a: 3.9, d: 0.2, e: -4}, 0}, // skewed a little
		{Transform{d: 4, b: 4}, 90},
		{Transform{a: -4, e: 4}, 180},
		{Transform{d: -4, b: -4}, 270},
	} {
		if got := tc.tf.QuarterTurn(); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.tf, got, tc.want)
		}
	}
}
