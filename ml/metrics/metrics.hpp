// Prequential (test-then-train) evaluation, all of it: includes every metrics header.
//
//   #include <eddy/ml/metrics/metrics.hpp>
//   eddy::ml::binary_prequential eval{eddy::ml::binary_metrics{},
//                                     eddy::ml::binary_metrics{0.5, 2000}};
//
// Include one of them instead to pull in less:
//   prequential.hpp         prequential<Metrics, Prediction>: predictions held until their
//                           (delayed) labels arrive, scored cumulative and rolling
//   binary_metrics.hpp      precision, recall, F1, accuracy, log loss, exact ROC AUC;
//                           binary_prequential
//   confusion_matrix.hpp    multi-class accuracy, per-class and macro figures;
//                           multiclass_prequential
//   regression_metrics.hpp  RMSE, MAE, R²; regression_prequential
#pragma once

#include <eddy/ml/evaluate/prequential.hpp>
#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/metrics/confusion_matrix.hpp>
#include <eddy/ml/metrics/regression_metrics.hpp>
