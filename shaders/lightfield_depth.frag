#version 300 es
// The light-field renderer's depth pre-pass (with lightfield.vert): depth only, so the
// light-field shader then runs once per pixel, on the nearest surface, instead of once per
// overlapping triangle (a baked mesh overlaps itself several times in most views).
precision mediump float;

void main() {}
