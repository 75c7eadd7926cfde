"""What ``tools/mutate.py`` mutates: the numeric core (theory, symbolic scalings and rules, nn, the validation
estimators and fits, the trainer's loss and accuracy), each module with the tests that should catch a wrong
number in it (files or pytest node ids under tests/; fast ones first, since a run stops at the first failure)."""

# module (under asymexp/) -> (matching tests: files or pytest node ids under tests/, functions to mutate or None
# for the whole module)
_IV = "test_independent_values.py::"
SCOPE: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "numeric/shallow_theory.py": ((_IV + "test_shallow_theory_mean_and_variance_at_a_width_by_hand",
                                   _IV + "test_monte_carlo_covariance_of_a_law_with_mean_matches_quadrature",
                                   _IV + "test_a_nonzero_initial_mean_is_noted_only_where_it_is_nonzero",
                                   "test_theory_kernels.py", "test_theory_hierarchy.py",
                                   "test_shallow_theory_rules.py"), None),
    "numeric/frozen.py": (("test_frozen_integral.py", _IV + "test_kernel_response_is_the_derivative_of_the_leading_term",
                           "test_theory_kernels.py", "test_validate_stat.py", "test_theory_hierarchy.py"), None),
    "numeric/hierarchy.py": (("test_numeric_rules.py::test_the_ode_error_estimate_bounds_the_actual_error",
                              "test_theory_hierarchy.py", "test_theory_kernels.py"), None),
    "numeric/deep_theory.py": (("test_numeric_rules.py", _IV + "test_deep_tangent_kernel_keeps_the_last_inner_layer_term",
                                _IV + "test_deep_kernel_error_is_the_larger_difference_between_two_orders",
                                _IV + "test_deep_kernel_notes_flag_only_real_degeneracies",
                                _IV + "test_deep_covariance_subtracts_the_mean_of_the_output_layer",
                                "test_theory_deep.py"),
                               None),
    "numeric/finite_n.py": ((_IV + "test_inverse_n_mean_term_equals_second_differences_of_a_plain_flow",
                             "test_theory_finite_n.py"), None),
    "numeric/pairwise.py": ((_IV + "test_pair_moments_with_a_constant_coordinate", "test_theory_deep.py",
                             _IV + "test_deep_tangent_kernel_keeps_the_last_inner_layer_term"), None),
    "numeric/quadrature.py": (("test_numeric_rules.py", "test_theory_kernels.py", "test_theory_deep.py"), None),
    "symbolic/scalings.py": ((_IV + "test_a_backward_sum_is_mean_zero_when_its_weights_or_the_output_layer_are",
                              _IV + "test_nu_of_a_symbol_equals_nu_of_each_rational", "test_symbolic_scalings.py"),
                             None),
    "symbolic/rules.py": ((_IV + "test_rules_of_a_two_layer_spec_by_hand", "test_symbolic_scalings.py",
                           "test_symbolic_deep.py"), None),
    "nn/shallow_kernel.py": (("test_nn_core.py", "test_sim_engine.py"), None),
    "nn/generic_kernel.py": (("test_nn_core.py", "test_mnist_kernels.py"), None),
    "nn/dense.py": (("test_nn_dense.py",), None),
    "stats/estimators.py": (("test_validate_estimators.py", "test_validate_stat.py"), None),
    "stats/fits.py": ((_IV + "test_fits_recover_an_exact_power_law_and_its_log_log_slope",
                            "test_verdict_undetermined.py", "test_validate_model_selection.py",
                            "test_validate_estimators.py"), None),
    "validation/shallow_validation.py": ((_IV + "test_variance_ratio_is_the_plain_sample_variance_over_the_predicted_"
                                          "variance", _IV + "test_variance_and_mean_with_controls_follow_the_pair_"
                                          "formulas", _IV + "test_mean_residuals_by_hand",
                                          _IV + "test_verdict_rules_by_hand", "test_verdict_undetermined.py",
                                          "test_validate_model_selection.py"),
                                         ("analyse_width", "mean_residuals", "fit_models", "verdict")),
    "mnist/epoch_kernel.py": ((_IV + "test_evaluation_predicts_the_arg_max_and_its_cross_entropy",
                               "test_mnist_kernels.py"), ("_loss_and_dout", "_argmax", "evaluate")),
    "mnist/train.py": ((_IV + "test_run_summary_reports_the_best_and_the_final_accuracy",
                        _IV + "test_mnist_accuracy_is_recomputed_from_the_checkpoint_and_beats_chance"),
                       ("_evaluate", "run_summary")),
}
