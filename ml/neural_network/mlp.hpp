// A multilayer perceptron classifier on Eigen, trained online by mini-batch SGD with momentum and
// scored one record or a whole batch at a time: deep-learning inference in the stream with no
// external runtime.
//
//   eddy::ml::mlp_config cfg;
//   cfg.hidden = {32, 16};                                   // two hidden layers, ReLU
//   auto model = eddy::ml::mlp_classifier::make(16, cfg);    // 16 features, binary
//   if (!model) return model.error();
//   model->learn(x, 1);                     // kept until `batch_size` records are in, then a step
//   double p = model->proba_of_one(x);      // P(class 1) with the weights of the last step
//   eddy::ml::vector ps = model->proba_of_one_rows(X);       // a batch of records, one per row
//
// The algorithm is scikit-learn's `MLPClassifier(solver="sgd")` step for step: weights start as
// Glorot-uniform draws (bound sqrt(6 / (fan_in + fan_out)), sqrt(2 / ...) for the logistic
// activation), the output is one logistic unit for two classes and a softmax otherwise, the loss
// is the mean log loss plus alpha/2 ||W||^2 / n, and each step is SGD with (Nesterov) momentum on
// the gradient of one mini-batch; the defaults are scikit-learn's (learning rate 0.001, momentum
// 0.9, Nesterov, alpha 1e-4, batch 200) except the hidden layer (32 units here, 100 there). Fed
// the same initial weights (set_parameters) and the same mini-batches (partial_fit on `batch_size`
// rows with shuffle=False), the two compute the same weights up to the order of floating-point
// sums (bench/ml/mlp.cpp checks it). The step size is constant (scikit-learn's
// `learning_rate="constant"`).
//
// learn() keeps each record until the mini-batch is full and then takes one step, so the model
// is a stream consumer: predictions use the weights of the last step, and a record learned joins
// the model at the next step. The records kept are state (serialize writes them), so a restored
// model steps exactly where the original would. Bad input — a wrong size, a NaN or an infinity,
// a value beyond max_input_magnitude, a label out of range, a bad weight — is refused with a
// sentence and the model is unchanged; so is the record whose step would make a weight overflow
// (the step is not taken and the record is not kept). A sample weight scales its record's share
// of the mini-batch gradient. Averaging replicas is not defined for this model (see
// ml/operators/average.hpp for the models that merge).
#pragma once

#include <eddy/ml/errc.hpp>
#include <eddy/ml/fwd.hpp>
#include <eddy/ml/input_limits.hpp>
#include <eddy/ml/io/serialization.hpp>
#include <eddy/ml/learner.hpp>
#include <eddy/ml/random_draws.hpp>

#include <boost/serialization/vector.hpp>
#include <caf/expected.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace eddy::ml {

/// The activation of an MLP's hidden units.
enum class activation : uint8_t {
  /// max(0, z), scikit-learn's default.
  relu,
  /// tanh(z).
  tanh,
  /// 1 / (1 + exp(-z)).
  logistic,
};

/// The settings of an mlp_classifier; make() says which value is out of range.
struct mlp_config {
  /// Units per hidden layer, input side first (1 to 16 layers of 1 to 4096 units). Default: {32}.
  std::vector<int> hidden{32};
  /// Number of classes: 2 gives one logistic output unit, more a softmax layer. Default: 2.
  int n_classes = 2;
  /// The hidden units' activation. Default: activation::relu.
  activation hidden_activation = activation::relu;
  /// The SGD step size (scikit-learn's learning_rate_init), > 0. Default: 0.001.
  double learning_rate = 0.001;
  /// Momentum of the SGD steps, in [0, 1). Default: 0.9.
  double momentum = 0.9;
  /// Nesterov's momentum (scikit-learn's nesterovs_momentum). Default: true.
  bool nesterov = true;
  /// L2 penalty strength (scikit-learn's alpha), >= 0. Default: 1e-4.
  double alpha = 1e-4;
  /// Records per mini-batch step, 1 to 1,000,000. Default: 200 (scikit-learn's).
  int batch_size = 200;
  /// Seeds the initial weights. Default: 42.
  uint64_t seed = 42;

  /// Saves or loads every setting.
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& hidden& n_classes& hidden_activation& learning_rate& momentum& alpha& batch_size& seed;
    serialize_flag(ar, nesterov, "mlp_config: nesterov");
  }
};

/// A multilayer perceptron classifier learned online by mini-batch SGD.
class mlp_classifier {
public:
  /// Names this model in model files and model versions.
  static constexpr const char* model_kind = "mlp_classifier";

  /// An empty model (no features); make() or loading gives it its shape.
  mlp_classifier() = default;

  /// A model of `n_features` inputs with Glorot-uniform initial weights drawn from `cfg.seed`.
  [[nodiscard]] static caf::expected<mlp_classifier> make(Eigen::Index n_features,
                                                          mlp_config cfg = {}) {
    if (auto err = validate(n_features, cfg))
      return err;
    mlp_classifier m;
    m.cfg_ = std::move(cfg);
    m.n_features_ = n_features;
    std::mt19937_64 rng{m.cfg_.seed};
    auto sizes = m.layer_sizes();
    const double factor = m.cfg_.hidden_activation == activation::logistic ? 2.0 : 6.0;
    for (size_t l = 0; l + 1 < sizes.size(); ++l) {
      const Eigen::Index fan_in = sizes[l];
      const Eigen::Index fan_out = sizes[l + 1];
      const double bound = std::sqrt(factor / static_cast<double>(fan_in + fan_out));
      auto draw = [&] { return -bound + 2.0 * bound * uniform01(rng); };
      matrix w(fan_in, fan_out);
      for (Eigen::Index i = 0; i < fan_in; ++i) // row by row, as numpy fills (fan_in, fan_out)
        for (Eigen::Index j = 0; j < fan_out; ++j)
          w(i, j) = draw();
      vector b(fan_out);
      for (Eigen::Index j = 0; j < fan_out; ++j)
        b[j] = draw();
      m.coefs_.push_back(std::move(w));
      m.intercepts_.push_back(std::move(b));
    }
    m.reset_optimizer();
    return m;
  }

  /// errc::invalid_argument saying which setting is out of range, or no error.
  [[nodiscard]] static caf::error validate(Eigen::Index n_features, const mlp_config& cfg) {
    auto bad = [](const std::string& why) {
      return make_error(errc::invalid_argument, "mlp_classifier: " + why);
    };
    if (n_features < 1 || n_features > 1'000'000)
      return bad("n_features is " + std::to_string(n_features) + ", expected 1 to 1,000,000");
    if (cfg.hidden.empty() || cfg.hidden.size() > 16)
      return bad("hidden has " + std::to_string(cfg.hidden.size()) +
                 " layers, expected 1 to 16 (units per layer, e.g. {32, 16})");
    for (int units : cfg.hidden)
      if (units < 1 || units > 4096)
        return bad("a hidden layer of " + std::to_string(units) + " units, expected 1 to 4096");
    if (cfg.n_classes < 2 || cfg.n_classes > max_batch_classes)
      return bad("n_classes is " + std::to_string(cfg.n_classes) + ", expected 2 to " +
                 std::to_string(max_batch_classes));
    if (cfg.hidden_activation > activation::logistic)
      return bad("hidden_activation is not relu, tanh or logistic");
    if (!(cfg.learning_rate > 0.0) || !std::isfinite(cfg.learning_rate))
      return bad("learning_rate must be finite and > 0 (try 0.001)");
    if (!(cfg.momentum >= 0.0 && cfg.momentum < 1.0))
      return bad("momentum must be in [0, 1) (try 0.9, or 0 for plain SGD)");
    if (!(cfg.alpha >= 0.0) || !std::isfinite(cfg.alpha))
      return bad("alpha must be finite and >= 0");
    if (cfg.batch_size < 1 || cfg.batch_size > 1'000'000)
      return bad("batch_size is " + std::to_string(cfg.batch_size) + ", expected 1 to 1,000,000");
    return caf::error{};
  }

  /// Keeps (x, y) for the next step and takes the step when `batch_size` records are kept. On bad
  /// input, or a step that would overflow, the model is unchanged and the record is not kept.
  caf::error learn(const vector& x, int y, double weight = 1.0) {
    constexpr const char* where = "mlp_classifier::learn";
    if (n_features_ == 0)
      return not_made_error(where);
    if (auto err = check_bounded_record(x, y, weight, static_cast<std::size_t>(n_features_),
                                        static_cast<std::size_t>(cfg_.n_classes), where))
      return err;
    keep(x, y, weight);
    if (n_pending_ < cfg_.batch_size)
      return caf::error{};
    if (!step(n_pending_)) {
      --n_pending_; // the record whose step overflowed is not kept
      return overflow_error(where);
    }
    n_pending_ = 0;
    return caf::error{};
  }

  /// Learns the rows of `X` in order, as learn() one by one (a step each time `batch_size`
  /// records are kept), after checking the whole batch: from a bad batch nothing is learned.
  /// Fed whole mini-batches (no record kept before, rows a multiple of batch_size), this is
  /// scikit-learn's `partial_fit(X, y)` with shuffle=False.
  caf::error learn_batch(const matrix& X, const labels& y) {
    constexpr const char* where = "mlp_classifier::learn_batch";
    if (n_features_ == 0)
      return not_made_error(where);
    if (auto err = check_bounded_rows(X, y, static_cast<std::size_t>(n_features_),
                                      static_cast<std::size_t>(cfg_.n_classes), where))
      return err;
    for (Eigen::Index r = 0; r < X.rows(); ++r) {
      pending_x_.row(n_pending_) = X.row(r);
      pending_y_[n_pending_] = y[r];
      pending_w_[n_pending_] = 1.0;
      if (++n_pending_ < cfg_.batch_size)
        continue;
      if (!step(n_pending_)) {
        --n_pending_;
        return overflow_error(where); // the steps before this one stay taken
      }
      n_pending_ = 0;
    }
    return caf::error{};
  }

  /// Takes a step on the records kept now, however few (none: nothing happens).
  caf::error flush() {
    if (n_pending_ == 0)
      return caf::error{};
    if (!step(n_pending_))
      return overflow_error("mlp_classifier::flush");
    n_pending_ = 0;
    return caf::error{};
  }

  /// The class probabilities of `x` (size n_classes); empty for a model not made.
  [[nodiscard]] vector predict_proba(const vector& x) const {
    vector out = forward_one(x);
    if (cfg_.n_classes != 2)
      return out;
    vector proba(2);
    proba << 1.0 - out[0], out[0];
    return proba;
  }

  /// P(class 1) of a binary model.
  [[nodiscard]] double proba_of_one(const vector& x) const {
    vector out = forward_one(x);
    return cfg_.n_classes == 2 ? out[0] : out[1];
  }

  /// The most probable class of `x`.
  [[nodiscard]] int predict(const vector& x) const {
    vector proba = predict_proba(x);
    Eigen::Index best = 0;
    proba.maxCoeff(&best);
    return static_cast<int>(best);
  }

  /// The class probabilities of every row of `X` (one record per row): rows x n_classes.
  [[nodiscard]] matrix predict_proba_rows(const matrix& X) const {
    matrix out = forward_rows(X);
    if (cfg_.n_classes != 2)
      return out;
    matrix proba(X.rows(), 2);
    proba.col(0) = 1.0 - out.col(0).array();
    proba.col(1) = out.col(0);
    return proba;
  }

  /// P(class 1) of every row of `X`, in one pass through the layers (matrix products).
  [[nodiscard]] vector proba_of_one_rows(const matrix& X) const {
    matrix out = forward_rows(X);
    return cfg_.n_classes == 2 ? vector(out.col(0)) : vector(out.col(1));
  }

  /// Replaces the weights (fan_in x fan_out per layer, input side first) and intercepts, e.g.
  /// with a network trained elsewhere; the momentum and the records kept start again. Shapes must
  /// match the model's layers and every value be finite, or nothing changes.
  caf::error set_parameters(std::vector<matrix> coefs, std::vector<vector> intercepts) {
    auto sizes = layer_sizes();
    if (n_features_ == 0)
      return not_made_error("mlp_classifier::set_parameters");
    if (auto why = shape_mismatch(coefs, intercepts, sizes); !why.empty())
      return make_error(errc::shape_mismatch, "mlp_classifier::set_parameters: " + why);
    for (size_t l = 0; l < coefs.size(); ++l)
      if (!coefs[l].allFinite() || !intercepts[l].allFinite())
        return make_error(errc::bad_input, "mlp_classifier::set_parameters: layer " +
                                               std::to_string(l) + " holds a non-finite value");
    coefs_ = std::move(coefs);
    intercepts_ = std::move(intercepts);
    reset_optimizer();
    return caf::error{};
  }

  /// The weights of each layer, fan_in x fan_out, input side first.
  [[nodiscard]] const std::vector<matrix>& coefs() const noexcept { return coefs_; }
  /// The intercepts of each layer.
  [[nodiscard]] const std::vector<vector>& intercepts() const noexcept { return intercepts_; }
  [[nodiscard]] Eigen::Index n_features() const noexcept { return n_features_; }
  [[nodiscard]] int n_classes() const noexcept { return cfg_.n_classes; }
  [[nodiscard]] const mlp_config& config() const noexcept { return cfg_; }
  /// Mini-batch steps taken.
  [[nodiscard]] uint64_t n_steps() const noexcept { return steps_; }
  /// Records kept for the next step.
  [[nodiscard]] int n_pending() const noexcept { return n_pending_; }

  /// True when `other` holds the same state, bit for bit (weights, momentum, records kept).
  [[nodiscard]] bool same_state(const mlp_classifier& other) const {
    return n_features_ == other.n_features_ && cfg_.hidden == other.cfg_.hidden &&
           cfg_.n_classes == other.cfg_.n_classes && steps_ == other.steps_ &&
           coefs_ == other.coefs_ && intercepts_ == other.intercepts_ &&
           vel_coefs_ == other.vel_coefs_ && vel_intercepts_ == other.vel_intercepts_ &&
           n_pending_ == other.n_pending_ &&
           pending_x_.topRows(n_pending_) == other.pending_x_.topRows(n_pending_) &&
           pending_y_.head(n_pending_) == other.pending_y_.head(n_pending_) &&
           pending_w_.head(n_pending_) == other.pending_w_.head(n_pending_);
  }

  /// Saves or loads all state: weights, momentum, the records kept for the next step. A loaded
  /// state whose shapes disagree with its settings, or that holds a value that is not finite,
  /// throws (errc::corrupt_file from `from_binary` and `load_model`).
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& cfg_& n_features_& steps_& coefs_& intercepts_& vel_coefs_& vel_intercepts_& n_pending_;
    matrix px;
    labels py;
    vector pw;
    if constexpr (Archive::is_saving::value) {
      px = pending_x_.topRows(n_pending_);
      py = pending_y_.head(n_pending_);
      pw = pending_w_.head(n_pending_);
    }
    ar& px& py& pw;
    if constexpr (Archive::is_loading::value) {
      check_loaded(px, py, pw);
      allocate_pending();
      pending_x_.topRows(n_pending_) = px;
      pending_y_.head(n_pending_) = py;
      pending_w_.head(n_pending_) = pw;
    }
  }

private:
  /// Input, hidden and output widths.
  [[nodiscard]] std::vector<Eigen::Index> layer_sizes() const {
    std::vector<Eigen::Index> sizes{n_features_};
    for (int units : cfg_.hidden)
      sizes.push_back(units);
    sizes.push_back(cfg_.n_classes == 2 ? 1 : cfg_.n_classes);
    return sizes;
  }

  /// Says how `coefs` and `intercepts` disagree with the layer widths `sizes`; empty: they agree.
  [[nodiscard]] static std::string shape_mismatch(const std::vector<matrix>& coefs,
                                                  const std::vector<vector>& intercepts,
                                                  const std::vector<Eigen::Index>& sizes) {
    const size_t layers = sizes.size() - 1;
    if (coefs.size() != layers || intercepts.size() != layers)
      return std::to_string(coefs.size()) + " weight matrices and " +
             std::to_string(intercepts.size()) + " intercept vectors for " +
             std::to_string(layers) + " layers";
    for (size_t l = 0; l < layers; ++l)
      if (coefs[l].rows() != sizes[l] || coefs[l].cols() != sizes[l + 1] ||
          intercepts[l].size() != sizes[l + 1])
        return "layer " + std::to_string(l) + " is " + std::to_string(coefs[l].rows()) + " x " +
               std::to_string(coefs[l].cols()) + " with " + std::to_string(intercepts[l].size()) +
               " intercepts, expected " + std::to_string(sizes[l]) + " x " +
               std::to_string(sizes[l + 1]);
    return {};
  }

  void reset_optimizer() {
    vel_coefs_.clear();
    vel_intercepts_.clear();
    for (size_t l = 0; l < coefs_.size(); ++l) {
      vel_coefs_.push_back(matrix::Zero(coefs_[l].rows(), coefs_[l].cols()));
      vel_intercepts_.push_back(vector::Zero(intercepts_[l].size()));
    }
    allocate_pending();
    n_pending_ = 0;
  }

  void allocate_pending() {
    pending_x_.resize(cfg_.batch_size, n_features_);
    pending_y_.resize(cfg_.batch_size);
    pending_w_.resize(cfg_.batch_size);
  }

  void keep(const vector& x, int y, double weight) {
    pending_x_.row(n_pending_) = x.transpose();
    pending_y_[n_pending_] = y;
    pending_w_[n_pending_] = weight;
    ++n_pending_;
  }

  /// Applies the hidden activation in place.
  template <class M>
  void activate_hidden(M&& z) const {
    switch (cfg_.hidden_activation) {
    case activation::relu:
      z = z.cwiseMax(0.0);
      break;
    case activation::tanh:
      z = z.array().tanh();
      break;
    case activation::logistic:
      z = z.unaryExpr([](double v) { return sigmoid(v); });
      break;
    }
  }

  /// Turns the output layer's rows of scores into probabilities, in place.
  void activate_output(matrix& z) const {
    if (cfg_.n_classes == 2) {
      z = z.unaryExpr([](double v) { return sigmoid(v); });
      return;
    }
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
      double top = z.row(r).maxCoeff();
      z.row(r) = (z.row(r).array() - top).exp();
      z.row(r) /= z.row(r).sum();
    }
  }

  static double sigmoid(double z) noexcept {
    if (z >= 0.0)
      return 1.0 / (1.0 + std::exp(-z));
    double e = std::exp(z);
    return e / (1.0 + e);
  }

  /// The output layer's probabilities for one record (one unit for two classes).
  [[nodiscard]] vector forward_one(const vector& x) const {
    if (n_features_ == 0 || x.size() != n_features_)
      return vector{};
    matrix row = x.transpose();
    matrix out = forward_rows(row);
    return out.row(0).transpose();
  }

  /// The output layer's probabilities for every row of `X`.
  [[nodiscard]] matrix forward_rows(const matrix& X) const {
    if (n_features_ == 0 || X.cols() != n_features_)
      return matrix{};
    matrix a = X;
    matrix z;
    for (size_t l = 0; l < coefs_.size(); ++l) {
      z.noalias() = a * coefs_[l];
      z.rowwise() += intercepts_[l].transpose();
      if (l + 1 < coefs_.size())
        activate_hidden(z);
      std::swap(a, z);
    }
    activate_output(a);
    return a;
  }

  /// One SGD step on the first `n` records kept; false (and no change) when a weight would
  /// overflow.
  bool step(Eigen::Index n) {
    const size_t layers = coefs_.size();
    acts_.resize(layers + 1);
    deltas_.resize(layers);
    acts_[0] = pending_x_.topRows(n);
    for (size_t l = 0; l < layers; ++l) {
      acts_[l + 1].noalias() = acts_[l] * coefs_[l];
      acts_[l + 1].rowwise() += intercepts_[l].transpose();
      if (l + 1 < layers)
        activate_hidden(acts_[l + 1]);
    }
    activate_output(acts_[layers]);
    // Output error: probabilities minus the one-hot labels (one column for two classes).
    matrix& top = deltas_[layers - 1];
    top = acts_[layers];
    for (Eigen::Index r = 0; r < n; ++r) {
      if (cfg_.n_classes == 2)
        top(r, 0) -= pending_y_[r];
      else
        top(r, pending_y_[r]) -= 1.0;
      top.row(r) *= pending_w_[r];
    }
    for (size_t l = layers - 1; l > 0; --l) {
      deltas_[l - 1].noalias() = deltas_[l] * coefs_[l].transpose();
      auto& a = acts_[l];
      switch (cfg_.hidden_activation) {
      case activation::relu:
        deltas_[l - 1].array() *= (a.array() != 0.0).cast<double>(); // 0 where a is 0

        break;
      case activation::tanh:
        deltas_[l - 1].array() *= 1.0 - a.array().square();
        break;
      case activation::logistic:
        deltas_[l - 1].array() *= a.array() * (1.0 - a.array());
        break;
      }
    }
    // Gradients, the new velocities and parameters, into scratch: committed only when finite.
    const double count = static_cast<double>(n); // divided by, as scikit-learn does
    const double lr = cfg_.learning_rate;
    const double mu = cfg_.momentum;
    next_coefs_.resize(layers);
    next_intercepts_.resize(layers);
    next_vel_coefs_.resize(layers);
    next_vel_intercepts_.resize(layers);
    bool finite = true;
    for (size_t l = 0; l < layers; ++l) {
      grad_coef_.noalias() = acts_[l].transpose() * deltas_[l];
      grad_coef_ = (grad_coef_ + cfg_.alpha * coefs_[l]) / count;
      grad_intercept_ = deltas_[l].colwise().sum().transpose() / count;
      next_vel_coefs_[l] = mu * vel_coefs_[l] - lr * grad_coef_;
      next_vel_intercepts_[l] = mu * vel_intercepts_[l] - lr * grad_intercept_;
      if (cfg_.nesterov) {
        next_coefs_[l] = coefs_[l] + (mu * next_vel_coefs_[l] - lr * grad_coef_);
        next_intercepts_[l] =
            intercepts_[l] + (mu * next_vel_intercepts_[l] - lr * grad_intercept_);
      } else {
        next_coefs_[l] = coefs_[l] + next_vel_coefs_[l];
        next_intercepts_[l] = intercepts_[l] + next_vel_intercepts_[l];
      }
      finite = finite && next_coefs_[l].allFinite() && next_intercepts_[l].allFinite() &&
               next_vel_coefs_[l].allFinite() && next_vel_intercepts_[l].allFinite();
    }
    if (!finite)
      return false;
    std::swap(coefs_, next_coefs_);
    std::swap(intercepts_, next_intercepts_);
    std::swap(vel_coefs_, next_vel_coefs_);
    std::swap(vel_intercepts_, next_vel_intercepts_);
    ++steps_;
    return true;
  }

  /// Refuses a loaded state that would read out of bounds or holds a value that is not finite.
  void check_loaded(const matrix& px, const labels& py, const vector& pw) const {
    if (n_features_ == 0) {
      if (!coefs_.empty() || !intercepts_.empty() || n_pending_ != 0)
        throw_corrupt_archive("mlp_classifier: a model of no features holds weights");
      return;
    }
    if (auto err = validate(n_features_, cfg_))
      throw_corrupt_archive(eddy::describe(err));
    auto sizes = layer_sizes();
    if (auto why = shape_mismatch(coefs_, intercepts_, sizes); !why.empty())
      throw_corrupt_archive("mlp_classifier: " + why);
    if (auto why = shape_mismatch(vel_coefs_, vel_intercepts_, sizes); !why.empty())
      throw_corrupt_archive("mlp_classifier: the momentum: " + why);
    for (size_t l = 0; l < coefs_.size(); ++l)
      if (!coefs_[l].allFinite() || !intercepts_[l].allFinite() || !vel_coefs_[l].allFinite() ||
          !vel_intercepts_[l].allFinite())
        throw_corrupt_archive("mlp_classifier: layer " + std::to_string(l) +
                              " holds a weight or momentum that is not finite");
    if (n_pending_ < 0 || n_pending_ >= cfg_.batch_size || px.rows() != n_pending_ ||
        (n_pending_ > 0 && px.cols() != n_features_) || py.size() != n_pending_ ||
        pw.size() != n_pending_)
      throw_corrupt_archive("mlp_classifier: " + std::to_string(n_pending_) +
                            " records kept for a mini-batch of " + std::to_string(cfg_.batch_size) +
                            ", stored as " + std::to_string(px.rows()) + " x " +
                            std::to_string(px.cols()) + " features, " + std::to_string(py.size()) +
                            " labels and " + std::to_string(pw.size()) + " weights");
    if (!px.allFinite() || !pw.allFinite() || (pw.size() > 0 && pw.minCoeff() < 0.0))
      throw_corrupt_archive("mlp_classifier: a record kept holds a non-finite value or weight");
    for (Eigen::Index i = 0; i < py.size(); ++i)
      if (py[i] < 0 || py[i] >= cfg_.n_classes)
        throw_corrupt_archive("mlp_classifier: a record kept has the label " +
                              std::to_string(py[i]));
  }

  mlp_config cfg_;
  Eigen::Index n_features_ = 0;
  uint64_t steps_ = 0;
  std::vector<matrix> coefs_;
  std::vector<vector> intercepts_;
  std::vector<matrix> vel_coefs_;
  std::vector<vector> vel_intercepts_;
  /// The records kept for the next step: the first n_pending_ rows / entries.
  matrix pending_x_;
  labels pending_y_;
  vector pending_w_;
  int n_pending_ = 0;
  // Scratch of step(), reused (not state).
  std::vector<matrix> acts_, deltas_, next_coefs_, next_vel_coefs_;
  std::vector<vector> next_intercepts_, next_vel_intercepts_;
  matrix grad_coef_;
  vector grad_intercept_;
};

} // namespace eddy::ml
