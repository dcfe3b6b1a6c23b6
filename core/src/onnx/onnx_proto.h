#pragma once
// Debian's libonnx-dev is built with ONNX_ML (onnx-ml.proto) in namespace `onnx`; CMake's
// onnx_proto target defines both, and these fallbacks keep other build setups consistent.

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif

#include <onnx/onnx_pb.h>
