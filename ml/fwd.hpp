// Forward declarations and the vector types shared by everything in eddy/ml.
//
//   #include <eddy/ml/fwd.hpp>
//   eddy::ml::vector x(16);   // a dense feature vector (Eigen::VectorXd)
#pragma once

#include <Eigen/Core>

namespace eddy::ml {

/// A dense feature vector.
using vector = Eigen::VectorXd;

/// A dense matrix, one record per row.
using matrix = Eigen::MatrixXd;

/// Class labels for a batch of records.
using labels = Eigen::VectorXi;

} // namespace eddy::ml
