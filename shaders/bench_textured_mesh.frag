#version 300 es
// Bench workload (fovea-bench lightfield): the floor under the light-field shader. The same
// mesh, one nearest lookup of the atlas's first layer, no shading: a plain textured mesh.
precision highp float;
precision highp sampler2DArray;

in highp vec3 v_ray;
in highp vec2 v_uv;
uniform sampler2DArray u_atlas;

layout(location = 0) out vec4 o_color;

void main() {
  o_color = vec4(texture(u_atlas, vec3(v_uv, 0.0)).rgb, 1.0);
}
