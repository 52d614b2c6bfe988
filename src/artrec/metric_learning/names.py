"""How the paper names the methods (Table 6, thesis B.3); importable without torch (the report)."""

METHOD_NAMES = {
    "dnet_ce": "DNet CE",
    "dnet_arcface": "DNet AF",
    "simsiam": "SimSiam",
    "con_syn": "Con-Syn",
    "con_syn_real": "Con-Syn+Real",
    "con_syn_real_closest": "Con-Syn+Real-closest",
}
LONG_TAIL_NAMES = {
    "reference": "reference (DNet AF)",
    "class_weighting": "class weighting",
    "class_balanced": "class-balanced sampling",
    "classifier_retraining": "classifier retraining",
}
