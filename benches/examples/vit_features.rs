//! ViT features (class token) of preprocessed images, for the side-by-side check and timing against onnxruntime
//! (`benches/peers/deit_onnxruntime.py`).
//!
//! `vit_features WEIGHTS MODEL INPUT.npy OUTPUT.npy THREADS REPEATS`: reads `(n, 3, 224, 224)` f32 images, writes
//! their `(n, D)` class-token features, then times `REPEATS` passes over all images on `THREADS` threads (groups of
//! 8 images, as `medblind extract` runs) and prints `images_per_second=…`.

use medblind::medmnist::npy;
use medblind::vit::{self, Token, Vit};
use rayon::prelude::*;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, weights, model, input, output, threads, repeats] = &args[..] else {
        return Err("usage: vit_features WEIGHTS MODEL INPUT.npy OUTPUT.npy THREADS REPEATS".into());
    };
    let config = vit::model(model).ok_or("unknown model")?;
    let model = Vit::from_safetensors(&std::fs::read(weights)?, config)?;
    let bytes = std::fs::read(input)?;
    let mut reader = &bytes[..];
    let (header, taken) = npy::read_header(&mut reader)?;
    let images = npy::to_f32(header.dtype, &npy::read_data(&mut reader, &header, bytes.len() - taken)?)?;
    let n = header.shape[0];
    let per_image = images.len() / n;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.parse()?).build()?;
    let run = || -> Vec<f32> {
        pool.install(|| {
            images
                .par_chunks(8 * per_image)
                .flat_map_iter(|g| model.features(g, g.len() / per_image, Token::Cls))
                .collect()
        })
    };
    let features = run();
    let data: Vec<u8> = features.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(output, npy::to_bytes("<f4", &[n, config.embed_dim], &data))?;
    let repeats: usize = repeats.parse()?;
    let start = Instant::now();
    for _ in 0..repeats {
        std::hint::black_box(run());
    }
    println!("images_per_second={:.2}", (n * repeats) as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
