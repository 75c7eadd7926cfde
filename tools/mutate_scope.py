"""What ``tools/mutate.py`` mutates: the numeric core (theory, symbolic scalings and rules, nn, the validation
estimators and fits, the trainer's loss and accuracy, the random terms and their linear response, and the
batch-normalization wing's theory: order parameters, constant mode, FIM dual, Gram mean field, lr thresholds,
gradient fraction, products of Gaussian matrices), each module with the tests that should catch a wrong number in
it (files or pytest node ids under tests/; fast ones first, since a run stops at the first failure).
The random terms' list ends with test_random_terms.py's simulated-network check (80 s), the only one that
reaches their 1/N variance term B^N: it runs for the mutants that the faster tests let through."""

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
    # the batch-normalization wing (asymexp/bn) and the random terms (docs/theory/7-random-terms.md)
    "bn/order_parameters.py": (("test_bn_theory_values.py",
                                "test_fim.py::test_relu_order_parameters_match_the_arccosine_recursion",
                                "test_fim.py::test_input_overlaps_of_gaussian_inputs",
                                "test_fim.py::test_predictions_differ_from_karakida_by_the_bias_terms_only",
                                "test_constant_mode.py::test_karakida_prediction_is_exact_for_isotropic_inputs",
                                "test_one_step.py::test_fraction_matches_the_theory_for_a_one_hidden_layer_relu_net",
                                "test_fim.py"), None),
    "bn/constant_mode.py": (("test_bn_theory_values.py", "test_constant_mode.py"), None),
    "numeric/kernel_fluctuation.py": (("test_random_terms_values.py::test_kernel_directions_reconstruct_the_covariance_"
                                       "at_every_scale",
                                       "test_random_terms_values.py::test_kernel_responses_start_at_zero",
                                       "test_random_terms_values.py::test_kernel_responses_of_each_direction_do_not_"
                                       "depend_on_the_others",
                                       "test_random_terms.py::test_kernel_moments_equal_a_per_sample_transcription",
                                       "test_random_terms.py::test_c_is_the_small_eps_limit_of_the_exact_second_"
                                       "derivative",
                                       "test_random_terms.py::test_B_is_the_eps_squared_coefficient_of_the_linear_"
                                       "response_variance"), None),
    "numeric/random_terms.py": (("test_random_terms_values.py",
                                 "test_random_terms.py::test_c_is_the_small_eps_limit_of_the_exact_second_derivative",
                                 "test_random_terms.py::test_B_is_the_eps_squared_coefficient_of_the_linear_"
                                 "response_variance",
                                 "test_random_terms.py::test_the_deterministic_flow_is_h_plus_eps_squared_q2_plus_"
                                 "order_eps_four",
                                 "test_random_terms.py::test_skewed_or_non_normal_laws_are_refused_with_the_reason",
                                 "test_random_terms.py::test_the_mean_of_q22_has_the_three_pieces_of_the_numeric_1_"
                                 "over_n_term",
                                 "test_linear_response.py",
                                 "test_random_terms.py::test_the_variance_prediction_with_its_1_over_n_term_matches_"
                                 "simulated_networks"), None),
    "numeric/linear_response.py": (("test_linear_response.py", "test_random_terms_values.py"), None),
    "bn/dual.py": (("test_bn_theory_values.py::test_spectrum_of_the_dual_equals_that_of_an_explicit_fim",
                        "test_bn_theory_values.py::test_fim_laws_are_the_spectrum_of_the_isotropic_dual",
                        "test_fim.py::test_theta_equals_explicit_jacobian_gram",
                        "test_fim.py::test_theta_equals_finite_difference_jacobian_of_the_batch_function",
                        "test_fim.py::test_mean_last_removes_exactly_the_mean_directions", "test_fim.py",
                        "test_lr_scan.py::test_gradient_matches_the_fim_dual_and_finite_differences"), None),
    "bn/jacobian.py": (("test_fim.py::test_theta_equals_explicit_jacobian_gram",
                            "test_fim.py::test_theta_equals_finite_difference_jacobian_of_the_batch_function",
                            "test_lr_scan.py::test_gradient_matches_the_fim_dual_and_finite_differences",
                            "test_one_step.py::test_gradient_matches_central_differences"), None),
    "bn/gram/gram_mean_field.py": (("test_bn_gram_values.py", "test_gram.py"), None),
    "bn/lrscan/thresholds.py": (("test_bn_threshold_values.py",
                                 "test_lr_scan.py::test_quadratic_threshold_is_two_over_lambda_max",
                                 "test_lr_scan.py::test_quadratic_generic_residual_bracket_lies_above_two_over_lambda",
                                 "test_lr_scan.py::test_rules_on_synthetic_loss_sequences",
                                 "test_lr_scan.py::test_bisection_bracket_invariants",
                                 "test_lr_scan.py::test_bisection_reports_an_unbracketed_rule"), None),
    "bn/onestep/gradient_fraction.py": (("test_bn_fraction_values.py",
                                         "test_one_step.py::test_fraction_vanishes_with_mean_last_by_construction",
                                         "test_one_step.py::test_fraction_matches_the_theory_for_a_one_hidden_layer_"
                                         "relu_net", "test_one_step.py"), None),
    "bn/rmt/fuss_catalan.py": (("test_rmt_values.py", "test_rmt.py"), None),
    "bn/rmt/gaussian_products.py": (("test_rmt_values.py", "test_rmt.py"), None),
    "bn/rmt/products_check.py": (("test_rmt_values.py", "test_rmt.py"), None),
    # the registries (activations, normalizations), the verdict rule and the BN studies' network and studies
    "activations/numpy_forms.py": (("test_registry_values.py",
                                    "test_activation_registry.py::test_numpy_derivatives_are_slopes",
                                    "test_activation_registry.py::test_parity_fact_holds",
                                    "test_activations_extra.py::test_derivative_is_the_slope_of_the_value",
                                    "test_activations_extra.py::test_relu_has_no_second_derivative"), None),
    "norms/numpy_norm.py": (("test_registry_values.py",
                             "test_norm_registry.py::test_numpy_backward_is_the_gradient_of_the_batch_function",
                             "test_norm_registry.py::test_gram_row_norm_is_the_shared_numpy_normalization"), None),
    "activations/__init__.py": (("test_registry_values.py", "test_activations_extra.py::test_new_codes_and_alias",
                                 "test_activations_extra.py::test_derivative_from_value_where_it_exists",
                                 "test_activations_extra.py::test_expansion_layers_refuse_relu_and_the_others",
                                 "test_activation_registry.py::test_every_activation_exposes_every_fact"), None),
    "norms/__init__.py": (("test_registry_values.py",
                           "test_norm_registry.py::test_the_table_covers_every_numba_code_once",
                           "test_norm_registry.py::test_bn_is_batch_norm_of_the_hidden_layers_wherever_it_is_offered",
                           "test_norm_registry.py::test_one_eps",
                           "test_norm_registry.py::test_unknown_norm_is_one_spec_error_naming_the_tool_and_what_is_"
                           "allowed",
                           "test_norm_registry.py::test_old_gram_names_are_accepted_with_one_line_on_stderr"), None),
    "stats/interval_verdicts.py": (("test_registry_values.py::test_verdict_boundaries", "test_interval_verdicts.py"),
                                   None),
}
