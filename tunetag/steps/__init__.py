"""The steps that join several parts of the domain: train, evaluate, predict and the
pretrained tagger's scores. A step that needs one part only lives in it (scan in
`tunetag.library`, extract in `tunetag.features`, report in `tunetag.evaluation`)."""
