package main

import (
	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/pipeline"
)

// layoutBoxes says where the signers' boxes are on a scanned page. Until
// pages carry their own codes and layouts, only the simulator knows: its
// pages report their ground truth. For any other page there are none.
func layoutBoxes(p scanner.Page) []pipeline.Box {
	truth, ok := sim.TruthOf(p)
	if !ok || len(truth.Boxes) == 0 {
		return nil
	}
	boxes := make([]pipeline.Box, 0, len(truth.Boxes))
	for _, b := range truth.Boxes {
		var c [4]pipeline.Point
		for i, p := range b.Corners {
			c[i] = pipeline.Point{X: float64(p.X), Y: float64(p.Y)}
		}
		boxes = append(boxes, pipeline.Box{Role: string(b.Role), Label: b.Label, Corners: c})
	}
	return boxes
}
