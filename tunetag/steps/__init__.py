"""The steps that join several parts of the domain: train, evaluate and predict. A step that
needs one part only lives in it (scan in `tunetag.library`, extract in `tunetag.features`,
report in `tunetag.evaluation`, the tagger's scores in `tunetag.pretrained`)."""
