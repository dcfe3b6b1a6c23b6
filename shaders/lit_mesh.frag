#version 300 es
precision highp float;

in vec3 v_world_position;
in vec3 v_normal;
in vec2 v_uv;

uniform sampler2D u_albedo;
uniform vec4 u_tint;
uniform vec3 u_light_direction;  // towards the light, world space, normalised
uniform vec3 u_camera_position;

layout(location = 0) out vec4 o_color;

void main() {
  vec3 n = normalize(v_normal);
  // Light both faces: open meshes (planes, extracted surfaces) are seen from behind too.
  if (!gl_FrontFacing) n = -n;
  vec3 albedo = texture(u_albedo, v_uv).rgb * u_tint.rgb;
  float diffuse = max(dot(n, u_light_direction), 0.0);
  vec3 to_eye = normalize(u_camera_position - v_world_position);
  vec3 halfway = normalize(u_light_direction + to_eye);
  float specular = pow(max(dot(n, halfway), 0.0), 48.0) * step(0.0, diffuse);
  // A little sky/ground hemisphere term keeps shadowed faces readable.
  float hemisphere = 0.5 + 0.5 * n.y;
  vec3 ambient = albedo * mix(vec3(0.10, 0.09, 0.08), vec3(0.22, 0.24, 0.28), hemisphere);
  vec3 color = ambient + albedo * diffuse * 0.85 + vec3(0.25) * specular;
  o_color = vec4(color, u_tint.a);
}
